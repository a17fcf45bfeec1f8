// kiwictl's own errors, beyond crds/api/errors.ts (exit codes 1-9). Listed in `kiwictl --help`.
import { KiwiError } from '../../crds/api/errors.js';

/** Exit code 9: in crds/api, since the rules that refuse (crds/api/extend.ts) are shared with kiwi-web. */
export { RefusedError } from '../../crds/api/errors.js';

/** Stopped by Ctrl-C (SIGINT) or SIGTERM before the verb was done. Exit code 130. */
export class InterruptedError extends KiwiError {
  override readonly exitCode = 130;
}

/**
 * Ends kiwictl with this exit code and no message (the reason was printed already): `kiwictl
 * run` passes on the remote command's exit code this way.
 */
export class ExitWith extends KiwiError {
  readonly silent = true;
  constructor(override readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

// kiwictl's own errors, beyond crds/api/errors.ts (exit codes 1-8). Listed in `kiwictl --help`.
import { KiwiError } from '../../crds/api/errors.js';

/**
 * The cluster said no, or the booking is past the point where the verb makes sense: a booking
 * Rejected or Busy, an extend refused, kill or extend of an Expired booking, a wait for a state
 * that can no longer come. Exit code 9.
 */
export class RefusedError extends KiwiError {
  override readonly exitCode = 9;
}

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

// Running the real, built kiwictl as a child process, for the kiwictl integration tests and the
// benches. ensureBuilt() bundles it once when dist/ is missing or older than the sources.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ROOT, binPath, ensureBuilt as buildOnce } from '../../helpers/build.js';

export { ROOT };
export const KIWICTL = binPath('kiwictl');

/** Builds dist/ if it is missing or stale (see test/helpers/build.ts). */
export async function ensureBuilt(): Promise<void> {
  buildOnce();
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs kiwictl with args. The environment is isolated: no config file, an empty dev state dir,
 * so only what the test passes (KIWI_ENDPOINTS, --endpoints) decides the endpoint.
 */
export function kiwictl(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(KIWICTL, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, XDG_CONFIG_HOME: '/nonexistent/kiwi-config', KIWI_DEV_STATE_DIR: '/nonexistent/kiwi-state', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    p.stdin.end(opts.input ?? '');
  });
}

/** Debian's /etc/pam.d/sshd, short. */
export const PAM_SSHD = '#%PAM-1.0\n@include common-auth\naccount    required     pam_nologin.so\n@include common-account\n@include common-session\n@include common-password\n';

/** A temporary root for `kiwictl node install --root`: an sshd PAM file and the helper's two programs. */
export function fakeRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'kiwitest-root-'));
  mkdirSync(join(r, 'etc/pam.d'), { recursive: true });
  mkdirSync(join(r, 'usr/bin'), { recursive: true });
  mkdirSync(join(r, 'etc/ssh'), { recursive: true });
  writeFileSync(join(r, 'etc/pam.d/sshd'), PAM_SSHD);
  writeFileSync(join(r, 'etc/ssh/sshd_config'), 'UsePAM yes\n');
  // the helper's two programs, as installPam checks for them on the node
  for (const p of ['socat', 'timeout']) copyFileSync(`/usr/bin/${p}`, join(r, 'usr/bin', p));
  return r;
}

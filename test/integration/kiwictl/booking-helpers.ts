// Shared by the booking-verb tests: a real etcd and the real operator (bin/kiwi-operator), and
// kiwictl run as root or as a kiwitest user (setpriv), all stopped by PID by the test.
import { spawn, type ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { startOperator, type OperatorProc } from '../operator/helpers.js';
import type { TestUser } from '../../helpers/users.js';
import { ensureBuilt, KIWICTL, kiwictl, ROOT, type Run } from './cli.js';

export interface Cluster {
  etcd: TestEtcd;
  operator: OperatorProc;
  env: Record<string, string>;
  /** kiwictl as root. */
  k(args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<Run>;
  /** kiwictl as a test user. */
  as(u: TestUser, args: string[]): Promise<Run>;
  stop(): Promise<void>;
}

export async function startCluster(id: string): Promise<Cluster> {
  await ensureBuilt(); // npm run build: kiwictl and kiwi-operator
  const etcd = await startEtcd();
  const operator = startOperator(etcd.endpoint, { id, leaseTtl: 1 });
  const env = { KIWI_ENDPOINTS: etcd.endpoint };
  return {
    etcd,
    operator,
    env,
    k: (args, o = {}) => kiwictl(args, { env: { ...env, ...o.env }, timeoutMs: o.timeoutMs }),
    as: (u, args) => asUser(u, args, env),
    async stop() {
      // kiwictl processes a failed test left running, by PID
      await Promise.all([...running].map((p) => stopProc(p, 'SIGKILL')));
      await operator.stop();
      await etcd.stop();
    },
  };
}

/** Runs the built kiwictl as a kiwitest user (real uid and gid, clean environment). */
export function asUser(u: TestUser, args: string[], env: Record<string, string>): Promise<Run> {
  if (!u.name.startsWith('kiwitest')) throw new Error(`refusing to run as ${u.name}`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn('setpriv', [`--reuid=${u.uid}`, `--regid=${u.uid}`, '--init-groups', process.execPath, KIWICTL, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent/kiwi-config', KIWI_DEV_STATE_DIR: '/nonexistent/kiwi-state', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** "booking ns/bk-abcde ..." -> bk-abcde */
export function bookingName(text: string): string {
  const m = /booking [^/\s]+\/(\S+?)[\s:]/.exec(text);
  if (!m) throw new Error(`no booking name in: ${text}`);
  return m[1];
}

export interface Running {
  stdout(): string;
  stderr(): string;
  done: Promise<Run>;
  pid: number;
}

/** Starts kiwictl (as root) and returns at once, for watching its output while it runs. */
export function startKiwictl(args: string[], env: Record<string, string>): Running {
  const started = Date.now();
  const p = spawn(KIWICTL, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, XDG_CONFIG_HOME: '/nonexistent/kiwi-config', KIWI_DEV_STATE_DIR: '/nonexistent/kiwi-state', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(p);
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
  p.once('exit', () => running.delete(p));
  const done = new Promise<Run>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { stdout: () => stdout, stderr: () => stderr, done, pid: p.pid! };
}

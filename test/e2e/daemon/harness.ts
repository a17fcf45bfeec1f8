// Runs the real kiwi-node-daemon for end-to-end tests: the built dist/ program (built first if
// stale, test/helpers/build.ts), started as a child
// process on 127.0.0.1 in test mode, stopped by PID. Also writes calendars and the config.
// KIWI_TEST_VERBOSE=1 echoes the daemon's log; KIWI_TEST_LOG_LEVEL sets its level;
// KIWI_TEST_NODE_ARGS adds node flags (e.g. "--prof --logfile=/tmp/v8.log").
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { parseCgroup2Mount } from '../../../node-daemon/src/enforce/cgroup.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, distScript } from '../../helpers/build.js';
import { keys, type CalendarEntry, type ClusterConfig, type Store } from '../../../crds/api/index.js';
import { stopProc } from '../../helpers/etcd.js';
import { killAllOf, stopAll } from '../../helpers/procs.js';
import type { TestUser } from '../../helpers/users.js';

/** The built program's script (dist/), built first if stale. */
function bundle(entry: 'kiwi-operator' | 'kiwi-node-daemon'): Promise<string> {
  ensureBuilt();
  return Promise.resolve(distScript(entry));
}

export const daemonScript = () => bundle('kiwi-node-daemon');

/** Starts the real kiwi-operator (when operator/src/main.ts exists) against an etcd; stop it by PID. */
export async function startOperator(endpoint: string): Promise<RunningDaemon> {
  const script = await bundle('kiwi-operator');
  return track(spawn(process.execPath, [script, '--endpoints', endpoint, '--lease-ttl', '1', '--log-level', 'debug', '--metrics-addr', 'none'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, KIWI_TEST: '1' } }), 'operator');
}

export interface RunningDaemon {
  proc: ChildProcess;
  logs: string[];
  /** Log lines parsed as JSON. */
  records(): any[];
  stop(signal?: NodeJS.Signals): Promise<void>;
  exited: Promise<number | null>;
}

export interface DaemonArgs {
  endpoint: string;
  node: string;
  stateDir: string;
  leaseTtl?: number;
  cleanupTimeout?: number;
  statusInterval?: number;
  env?: Record<string, string>;
  extra?: string[];
  /** Start the daemon inside this cgroup v2 directory (as systemd starts a unit in its own). */
  cgroup?: string;
}

export async function startDaemon(a: DaemonArgs): Promise<RunningDaemon> {
  const script = await daemonScript();
  const args = [
    script,
    '--endpoints', a.endpoint,
    '--node-name', a.node,
    '--address', '127.0.0.1',
    '--state-dir', a.stateDir,
    '--lease-ttl', String(a.leaseTtl ?? 2),
    '--metrics-addr', 'none', // tests run several at once: no fixed port
    '--cleanup-timeout', String(a.cleanupTimeout ?? 10),
    '--status-interval', String(a.statusInterval ?? 30),
    '--only-users-matching', '^kiwitest-',
    '--log-level', process.env.KIWI_TEST_LOG_LEVEL ?? 'debug',
    '--no-pam', // the PAM socket has its own tests; these are about enforcement
    ...(a.extra ?? []),
  ];
  const argv = [process.execPath, ...(process.env.KIWI_TEST_NODE_ARGS ? process.env.KIWI_TEST_NODE_ARGS.split(' ') : []), ...args];
  // in a cgroup: a shell moves itself there, then becomes the daemon (same pid)
  const [cmd, ...rest] = a.cgroup ? ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', a.cgroup, ...argv] : argv;
  const proc = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, KIWI_TEST: '1', ...(a.env ?? {}) } });
  return track(proc, a.node);
}

function track(proc: ChildProcess, label: string): RunningDaemon {
  const logs: string[] = [];
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    logs.push(...lines.filter(Boolean));
    if (process.env.KIWI_TEST_VERBOSE) for (const l of lines) if (l) console.error(`[${label}] ${l}`);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code, signal) => {
    logs.push(JSON.stringify({ msg: 'daemon exited', code, signal }));
    r(code);
  }));
  return {
    proc,
    logs,
    exited,
    records: () => logs.flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    }),
    stop: (signal = 'SIGTERM') => stopProc(proc, signal, 8000),
  };
}

export function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'kiwitest-state-'));
}

export function removeDir(d: string | undefined): void {
  if (d && existsSync(d)) rmSync(d, { recursive: true, force: true });
}

/** Writes a node's calendar as the operator would. */
export async function putCalendar(store: Store, node: string, entries: CalendarEntry[]): Promise<void> {
  await store.etcd.put(keys.calendar(node)).value(JSON.stringify({ node, entries: [...entries].sort((x, y) => x.start - y.start) }));
}

export async function putConfig(store: Store, spec: ClusterConfig['spec']): Promise<void> {
  const ref = { kind: 'ClusterConfig' as const, name: 'default' };
  const cur = await store.get(ref);
  if (!cur) await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec });
  else await store.update({ ...cur, spec });
}

/** Removes the empty booking cgroups of this test process's entries (entry(): e2e-<pid>-<n>) under <cgroup2 mount>/kiwi. */
export function removeTestCgroups(): void {
  const mount = parseCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  const base = mount && join(mount, 'kiwi');
  if (!base || !existsSync(base)) return;
  for (const d of readdirSync(base)) {
    if (!d.startsWith(`e2e-${process.pid}-`)) continue;
    try {
      rmdirSync(join(base, d));
    } catch {
      /* not empty */
    }
  }
}

let n = 0;
export function entry(user: string, start: number, end: number, extra: Partial<CalendarEntry> = {}): CalendarEntry {
  n++;
  return { booking: `${user}/bk-${process.pid}-${n}`, uid: `e2e-${process.pid}-${n}`, user, start, end, ...extra };
}

/** Prints the daemon's log when a test failed (mocha `this` in afterEach). */
export function dumpOnFailure(ctx: Mocha.Context, ds: (RunningDaemon | undefined)[]): void {
  if (ctx.currentTest?.state !== 'failed') return;
  for (const d of ds) {
    if (!d) continue;
    console.error(d.logs.slice(-60).join('\n'));
    console.error(`(daemon ${d.proc.pid}: ${d.proc.exitCode === null && d.proc.signalCode === null ? 'still running' : `exited ${d.proc.exitCode ?? d.proc.signalCode}`})`);
  }
}

/** What one daemon e2e test started; `endTest` ends it all. */
export interface Started {
  daemons: RunningDaemon[];
  procs: ChildProcess[];
  dirs: string[];
}

export const started = (): Started => ({ daemons: [], procs: [], dirs: [] });

/**
 * The daemon e2e tests' afterEach: the daemons' logs if the test failed, then every daemon
 * (SIGKILL) and process the test started stopped, `morePids()` (pids found another way, e.g.
 * under a user's subordinate uids) killed, every process of `users` killed, the state dirs
 * removed; `s` is empty again for the next test.
 */
export async function endTest(ctx: Mocha.Context, s: Started, users: (TestUser | undefined)[], morePids: () => number[] = () => []): Promise<void> {
  dumpOnFailure(ctx, s.daemons);
  await Promise.all(s.daemons.map((d) => d.stop('SIGKILL')));
  await stopAll(s.procs);
  for (const pid of morePids()) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  for (const u of users) if (u) await killAllOf(u);
  for (const d of s.dirs) removeDir(d);
  s.daemons.length = 0;
  s.procs.length = 0;
  s.dirs.length = 0;
}

// Real processes of test users, started through setpriv, and /proc helpers to see them.
// SAFETY: everything here refuses users whose name does not start with kiwitest.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { TestUser } from './users.js';

function assertTestUser(u: TestUser): void {
  if (!u.name.startsWith('kiwitest') || u.uid < 1000) throw new Error(`refusing to touch processes of ${u.name} (uid ${u.uid})`);
}

/** Runs argv as the user (setpriv: real and effective uid and gid, init groups, clean env). */
export function spawnAs(u: TestUser, argv: string[], opts: { stdout?: 'pipe' | 'ignore' } = {}): ChildProcess {
  assertTestUser(u);
  const p = spawn('setpriv', [`--reuid=${u.uid}`, `--regid=${u.uid}`, '--init-groups', '--reset-env', ...argv], { stdio: ['ignore', opts.stdout ?? 'ignore', 'ignore'], detached: true });
  p.on('error', () => undefined);
  return p;
}

export function sleeper(u: TestUser): ChildProcess {
  return spawnAs(u, ['sleep', '100000']);
}

/** A shell that ignores SIGTERM (only SIGKILL ends it). */
export function termIgnorer(u: TestUser): ChildProcess {
  return spawnAs(u, ['bash', '-c', "trap '' TERM; while :; do sleep 0.2; done"]);
}

/**
 * A process that keeps forking short-lived children (about 20 a second, at most a few alive),
 * and ignores SIGTERM, as its children do: only repeated SIGKILL (or cgroup.kill) ends it.
 */
export function forker(u: TestUser): ChildProcess {
  return spawnAs(u, ['bash', '-c', "trap '' TERM; while :; do sleep 0.2 & sleep 0.05; done"]);
}

/** A sleeper whose command line carries `mark` (the daemon's test seam spares it). */
export function marked(u: TestUser, mark: string): ChildProcess {
  return spawnAs(u, ['bash', '-c', `exec -a ${mark} sleep 100000`]);
}

/** A process on its own pseudo-terminal (via script); what the terminal shows comes out on stdout. */
export function onTerminal(u: TestUser): ChildProcess {
  return spawnAs(u, ['script', '-qfc', 'sleep 100000', '/dev/null'], { stdout: 'pipe' });
}

/** A shell that prints the name of each signal it traps (USR1, USR2, HUP, INT) on stdout. */
export function signalPrinter(u: TestUser): ChildProcess {
  return spawnAs(u, ['bash', '-c', "for s in USR1 USR2 HUP INT; do trap \"echo got-$s\" $s; done; while :; do sleep 0.1 || true; done"], { stdout: 'pipe' });
}

/** `n` sleepers started by one shell (for the bench: many processes, one spawn). */
export function manySleepers(u: TestUser, n: number): ChildProcess {
  return spawnAs(u, ['bash', '-c', `for i in $(seq ${n}); do sleep 100000 & done; wait`]);
}

/** Live (non-zombie) pids whose real or effective uid is the user's. */
export function livePids(u: TestUser): number[] {
  return livePidsOfIds(u.uid);
}

/** Live (non-zombie) pids whose real or effective uid is `uid` or in one of `ranges` (subordinate ids). */
export function livePidsOfIds(uid: number, ranges: { start: number; count: number }[] = []): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/status`, 'utf8');
      const ids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(s);
      const st = /^State:\s+(\S)/m.exec(s);
      if (!ids || !st || st[1] === 'Z') continue;
      if ([Number(ids[1]), Number(ids[2])].some((id) => id === uid || ranges.some((r) => id >= r.start && id < r.start + r.count))) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** kill(-1) with SIGKILL as the user: ends even what /proc scans miss (a fork chain). */
export function killAsUser(uid: number): void {
  if (uid < 1000) throw new Error(`refusing kill(-1) as uid ${uid}`);
  spawnSync('/usr/bin/setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', '/bin/kill', '-KILL', '-1'], { env: {}, stdio: 'ignore' });
}

/** SIGKILLs every live process of a test user (after a test, whatever it left): kill(-1) as them, then by pid. */
export async function killAllOf(u: TestUser): Promise<void> {
  assertTestUser(u);
  for (let i = 0; i < 3; i++) killAsUser(u.uid);
  for (let i = 0; i < 50; i++) {
    const pids = livePids(u);
    if (!pids.length) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGKILLs the processes a test started (by pid) and waits for them to exit. */
export async function stopAll(ps: ChildProcess[]): Promise<void> {
  await Promise.all(ps.map((p) => new Promise<void>((r) => {
    if (p.exitCode !== null || p.signalCode !== null || !p.pid) return r();
    p.once('exit', () => r());
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      r();
    }
  })));
}

// The local dev etcd's process side: find the binary, pick ports, start it detached, check that a
// recorded PID is still that etcd, stop exactly that PID. Binds 127.0.0.1 only.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { devFiles, type DevState } from '../../client/paths.js';
import { readDevState } from '../../client/endpoints.js';
import { ETCD_SERVER_FLAGS } from '../../../../crds/api/etcd-server.js';

export function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

/** Installs etcd with apt-get (root only; the caller checks). Output goes to stderr. */
export function aptInstallEtcd(): void {
  for (const args of [['update'], ['install', '-y', 'etcd-server', 'etcd-client']]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal}); install etcd yourself: apt-get install etcd-server`);
  }
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `preferred` if it is free, else any free port the OS gives (never one in `avoid`). */
export async function pickPort(preferred: number, avoid: number[] = []): Promise<number> {
  if (!avoid.includes(preferred) && (await portFree(preferred))) return preferred;
  for (;;) {
    const p = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    if (!avoid.includes(p)) return p;
  }
}

/** True when `pid` is alive and is the etcd of this data dir (PIDs get reused). */
export function isOurEtcd(pid: number, dataDir: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false; // a zombie waiting to be reaped is gone for us
    return cmd.some((a) => /(^|\/)etcd$/.test(a)) && cmd.includes(dataDir);
  } catch {
    return false;
  }
}

export async function healthy(endpoint: string, timeoutMs = 500): Promise<boolean> {
  try {
    const r = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return r.ok && /"health":\s*"true"/.test(await r.text());
  } catch {
    return false;
  }
}

/** The recorded dev etcd if it is still running, else undefined. */
export function runningDevEtcd(stateDir: string): DevState | undefined {
  const st = readDevState(stateDir);
  return st && isOurEtcd(st.pid, st.dataDir) ? st : undefined;
}

export async function startDevEtcd(etcdBin: string, stateDir: string, port: number, peerPort: number): Promise<DevState> {
  const f = devFiles(stateDir);
  mkdirSync(f.dataDir, { recursive: true, mode: 0o700 });
  const endpoint = `http://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const log = openSync(f.logFile, 'a');
  const child = spawn(
    etcdBin,
    [
      '--name', 'kiwi-dev', '--data-dir', f.dataDir,
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `kiwi-dev=${peerUrl}`,
      '--logger', 'zap', '--log-level', 'warn',
      // auto-compaction, the quota and the request limit every etcd Kiwi starts has
      ...ETCD_SERVER_FLAGS,
    ],
    // detached + its own stdio: it outlives kiwictl, and kiwictl's exit does not wait for it
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = `exit ${code ?? sig}`));
  child.once('error', (e) => (exited = e.message));
  child.unref();
  const state: DevState = { pid: child.pid!, endpoint, peerUrl, dataDir: f.dataDir, logFile: f.logFile, startedAt: new Date().toISOString() };
  writeFileSync(f.pidFile, `${child.pid}\n`);
  writeFileSync(f.stateFile, JSON.stringify(state, null, 2) + '\n');
  const deadline = Date.now() + 20_000;
  while (!(await healthy(endpoint))) {
    if (exited || Date.now() > deadline) {
      if (!exited) process.kill(child.pid!, 'SIGKILL');
      clearState(stateDir);
      const tail = readFileSync(f.logFile, 'utf8').trim().split('\n').slice(-3).join('\n');
      throw new Error(`dev etcd did not become healthy on ${endpoint} (${exited ?? 'no answer in 20 s'}); see ${f.logFile}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return state;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopPid(pid: number, dataDir: string, graceMs: number): Promise<'terminated' | 'killed'> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurEtcd(pid, dataDir)) return 'terminated';
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(pid, 'SIGKILL');
  while (isOurEtcd(pid, dataDir)) await new Promise((r) => setTimeout(r, 20));
  return 'killed';
}

export function clearState(stateDir: string): void {
  const f = devFiles(stateDir);
  rmSync(f.pidFile, { force: true });
  rmSync(f.stateFile, { force: true });
}

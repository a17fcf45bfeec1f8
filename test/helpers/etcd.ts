// Starts a real etcd for a test: one member on 127.0.0.1, free ports, a temp data dir.
// The test that starts it stops it, by PID, and the data dir is removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import { connect, Store } from '../../crds/api/index.js';
import { ETCD_KEEPALIVE_MIN_TIME_FLAG } from '../../crds/api/etcd-server.js';
import type { Etcd3 } from 'etcd3';

export interface TestEtcd {
  endpoint: string;
  proc: ChildProcess;
  dataDir: string;
  client(): Etcd3;
  store(): Store;
  /** SIGKILLs the member (the data dir stays), for outage tests. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `stockKeepalive`: without the keepalive minimum every etcd Kiwi starts has (etcd's default, 5 s), as an etcd of one's own may run. */
export async function startEtcd(o: { stockKeepalive?: boolean } = {}): Promise<TestEtcd> {
  let peer = 0;
  let endpoint = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'kiwitest-etcd-'));
  const clients: Etcd3[] = [];
  const launch = async () => {
    const p = spawn(
      'etcd',
      [
        '--name', 's1', '--data-dir', dataDir,
        '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `s1=http://127.0.0.1:${peer}`,
        '--heartbeat-interval=10', '--election-timeout=100', '--logger', 'zap', '--log-level', 'error',
        ...(o.stockKeepalive ? [] : [ETCD_KEEPALIVE_MIN_TIME_FLAG]),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += d));
    p.on('error', (e) => (stderr += String(e)));
    await waitFor(
      async () => {
        if (p.exitCode !== null) throw new Error(`etcd exited: ${stderr}`);
        const r = await fetch(`${endpoint}/health`).catch(() => undefined);
        return r?.ok;
      },
      { timeoutMs: 15_000, what: `etcd on ${endpoint}` },
    );
    return p;
  };
  // A free port is free when asked, not when etcd binds it: another process on the machine may
  // take it between the two. etcd then exits at once ("address already in use"): take others.
  let first: ChildProcess | undefined;
  for (let attempt = 1; !first; attempt++) {
    const port = await freePort();
    peer = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    try {
      first = await launch();
    } catch (e) {
      if (attempt >= 3 || !/address already in use/.test(String(e))) throw e;
    }
  }
  const t: TestEtcd = {
    endpoint,
    dataDir,
    proc: first,
    client() {
      const c = connect({ endpoints: [endpoint], callTimeoutMs: 3000 });
      clients.push(c);
      return c;
    },
    store() {
      return new Store(t.client(), { endpoints: [endpoint] });
    },
    async kill() {
      await stopProc(t.proc, 'SIGKILL');
    },
    async restart() {
      t.proc = await launch();
    },
    async stop() {
      for (const c of clients) c.close();
      await stopProc(t.proc, 'SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** A real etcd for the describe block it is called in: started before its tests, stopped after them. */
export function useEtcd(): { readonly etcd: TestEtcd; readonly store: Store } {
  const ctx = {} as { etcd: TestEtcd; store: Store };
  before(async () => {
    ctx.etcd = await startEtcd();
    ctx.store = ctx.etcd.store();
  });
  after(async () => ctx.etcd?.stop());
  return ctx;
}

export async function stopProc(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export interface TestEtcdCluster {
  endpoints: string[];
  procs: (ChildProcess | undefined)[];
  /** SIGKILLs member i (its data stays). */
  kill(i: number): Promise<void>;
  /** Starts a killed member i again on its ports and data, and waits for its health. */
  restart(i: number): Promise<void>;
  /** SIGSTOPs member i (a paused process: its connections stay open and answer nothing); resume() sends SIGCONT. */
  pause(i: number): void;
  resume(i: number): void;
  /** The index of the member that is the raft leader now. */
  leader(): Promise<number>;
  stop(): Promise<void>;
}

/** A 3- or 5-member etcd on 127.0.0.1 (the production-like setup), temp data dirs, stopped by PID. */
export async function startEtcdCluster(size = 3): Promise<TestEtcdCluster> {
  const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
  const dirs = Array.from({ length: size }, () => mkdtempSync(join(tmpdir(), 'kiwitest-etcd-')));
  const client = (i: number) => `http://127.0.0.1:${ports[2 * i]}`;
  const peer = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const initial = Array.from({ length: size }, (_, i) => `m${i}=${peer(i)}`).join(',');
  const launch = (i: number, state: 'new' | 'existing') =>
    spawn(
      'etcd',
      [
        '--name', `m${i}`, '--data-dir', dirs[i],
        '--listen-client-urls', client(i), '--advertise-client-urls', client(i),
        '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
        '--initial-cluster', initial, '--initial-cluster-state', state, '--initial-cluster-token', `kiwitest-${ports[0]}`,
        '--heartbeat-interval=50', '--election-timeout=500', '--logger', 'zap', '--log-level', 'error', ETCD_KEEPALIVE_MIN_TIME_FLAG,
      ],
      { stdio: 'ignore' },
    );
  const procs: (ChildProcess | undefined)[] = Array.from({ length: size }, (_, i) => launch(i, 'new'));
  await waitFor(
    async () => {
      const rs = await Promise.all(Array.from({ length: size }, (_, i) => fetch(`${client(i)}/health`).then((r) => r.ok).catch(() => false)));
      return rs.every(Boolean);
    },
    { timeoutMs: 20_000, what: `${size}-member etcd` },
  );
  return {
    endpoints: Array.from({ length: size }, (_, i) => client(i)),
    procs,
    async leader() {
      // etcd's JSON gateway: each member's own id and the leader it follows.
      const st = await Promise.all(Array.from({ length: size }, async (_, i) => {
        if (!procs[i]) return undefined;
        const r = await fetch(`${client(i)}/v3/maintenance/status`, { method: 'POST', body: '{}' });
        return (await r.json()) as { header: { member_id: string }; leader: string };
      }));
      const i = st.findIndex((s) => s && s.header.member_id === s.leader);
      if (i < 0) throw new Error('no member is the raft leader now');
      return i;
    },
    pause(i) {
      procs[i]?.kill('SIGSTOP');
    },
    resume(i) {
      procs[i]?.kill('SIGCONT');
    },
    async kill(i) {
      const p = procs[i];
      if (p) await stopProc(p, 'SIGKILL');
      procs[i] = undefined;
    },
    async restart(i) {
      if (procs[i]) throw new Error(`etcd member m${i} is running`);
      procs[i] = launch(i, 'existing');
      await waitFor(() => fetch(`${client(i)}/health`).then((r) => r.ok).catch(() => false), { timeoutMs: 20_000, what: `etcd member m${i} healthy again` });
    },
    async stop() {
      for (const p of procs) p?.kill('SIGCONT'); // a paused member cannot stop
      await Promise.all(procs.map((p) => (p ? stopProc(p) : undefined)));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

// Starts a real etcd for a test: one member on 127.0.0.1, free ports, a temp data dir.
// The test that starts it stops it, by PID, and the data dir is removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import { connect, Store } from '../../crds/api/index.js';
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

export async function startEtcd(): Promise<TestEtcd> {
  const [port, peer] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'kiwitest-etcd-'));
  const endpoint = `http://127.0.0.1:${port}`;
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
  const t: TestEtcd = {
    endpoint,
    dataDir,
    proc: await launch(),
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

export async function stopProc(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

// A real etcd with Kiwi's etcd authentication turned on by `kiwictl admin enable-auth`, the
// real operator logged in as kiwi-operator, and kiwictl run as root or as kiwitest users, each
// picking up their own credential file from a temp credentials dir. Stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { asUser } from '../kiwictl/booking-helpers.js';
import { ensureBuilt, kiwictl, ROOT, type Run } from '../kiwictl/cli.js';
import type { TestUser } from '../../helpers/users.js';
import { connect, Store } from '../../../crds/api/index.js';
import type { Etcd3 } from 'etcd3';

export interface AuthCluster {
  etcd: TestEtcd;
  credsDir: string;
  env: Record<string, string>;
  /** kiwictl as root (root's credential file). */
  k(args: string[], opts?: { env?: Record<string, string>; input?: string }): Promise<Run>;
  as(u: TestUser, args: string[], env?: Record<string, string>): Promise<Run>;
  /** A Store logged in as an etcd user, with the password from its credential file. */
  storeAs(etcdUser: string): Store;
  startOperator(): ChildProcess;
  stop(): Promise<void>;
}

export function credentialPassword(credsDir: string, etcdUser: string): string {
  const m = /^password:\s*(.*)$/m.exec(readFileSync(join(credsDir, `${etcdUser}.yaml`), 'utf8'));
  return JSON.parse(m![1]);
}

/** `seed` runs as root before auth goes on (nodes, config). */
export async function startAuthCluster(seed: (k: AuthCluster['k']) => Promise<void>): Promise<AuthCluster> {
  await ensureBuilt();
  const etcd = await startEtcd();
  const credsDir = mkdtempSync(join(tmpdir(), 'kiwitest-creds-'));
  chmodSync(credsDir, 0o755); // users must reach their own file in it
  const env = { KIWI_ENDPOINTS: etcd.endpoint, KIWI_CREDENTIALS_DIR: credsDir };
  const clients: Etcd3[] = [];
  const procs: ChildProcess[] = [];
  const k: AuthCluster['k'] = (args, o = {}) => kiwictl(args, { env: { ...env, ...o.env }, input: o.input });
  await seed(k);
  const on = await k(['admin', 'enable-auth']);
  if (on.code !== 0) throw new Error(`enable-auth failed: ${on.stderr}`);
  const c: AuthCluster = {
    etcd,
    credsDir,
    env,
    k,
    as: (u, args, e = {}) => asUser(u, args, { ...env, ...e }),
    storeAs(user) {
      const client = connect({ endpoints: [etcd.endpoint], callTimeoutMs: 3000, auth: { username: user, password: credentialPassword(credsDir, user) } });
      clients.push(client);
      return new Store(client, { endpoints: [etcd.endpoint], retries: 0 });
    },
    startOperator() {
      const p = spawn(process.execPath, [join(ROOT, 'bin/kiwi-operator'), '--id', 'sec-op', '--lease-ttl', '1', '--log-level', process.env.KIWITEST_OPERATOR_LOG ?? 'warn'], {
        env: { PATH: process.env.PATH!, KIWI_ENDPOINTS: etcd.endpoint, KIWI_ETCD_PASSWORD_FILE: join(credsDir, 'kiwi-operator.yaml') },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      procs.push(p);
      return p;
    },
    async stop() {
      for (const cl of clients) cl.close();
      await Promise.all(procs.map((p) => stopProc(p, 'SIGTERM')));
      await etcd.stop();
      rmSync(credsDir, { recursive: true, force: true });
    },
  };
  return c;
}

/** A cluster with the default ClusterConfig, these nodes (no daemons) and these users' credentials, auth on. */
export async function startUsersCluster(nodes: string[], users: TestUser[]): Promise<AuthCluster> {
  const c = await startAuthCluster(async (k) => {
    for (const args of [['init'], ...nodes.map((n) => ['add-node', n, '--host', '127.0.0.1'])]) {
      const r = await k(args);
      if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    }
  });
  for (const u of users) {
    const r = await c.k(['admin', 'add-user', u.name]);
    if (r.code !== 0) throw new Error(`add-user ${u.name}: ${r.stderr}`);
  }
  return c;
}

/**
 * Every key under /kiwi/ with its mod revision, read as root (to show a refusal wrote nothing);
 * the election key and events, which the operator keeps writing, are left out.
 */
export async function revision(c: AuthCluster): Promise<string> {
  const s = c.storeAs('root');
  const r = await s.etcd.getAll().prefix('/kiwi/').exec();
  return JSON.stringify(r.kvs.map((kv) => [kv.key.toString(), kv.mod_revision]).filter(([k]) => !/^\/kiwi\/(election|events)\//.test(k as string)));
}

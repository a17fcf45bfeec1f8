// TLS for tests and benches: a CA, a server certificate for 127.0.0.1/localhost and a client
// certificate, made with openssl in a temp dir; and a real etcd serving https with
// --client-cert-auth on a free loopback port. Stopped by PID.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { stopProc } from './etcd.js';
import { ETCD_KEEPALIVE_MIN_TIME_FLAG } from '../../crds/api/etcd-server.js';

export function makeCerts(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=kiwitest-ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [['server', 'localhost'], ['client', 'kiwitest-client']]) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
}

export interface TlsEtcd {
  dir: string;
  endpoint: string;
  proc: ChildProcess;
  /** KIWI_ENDPOINTS and KIWI_ETCD_CA/CERT/KEY for kiwictl. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** etcd on https://127.0.0.1:PORT wanting a client certificate signed by the temp CA (not yet answering when this returns). */
export async function startTlsEtcd(extraArgs: string[] = []): Promise<TlsEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'kiwitest-tls-'));
  makeCerts(dir);
  const [port, peer] = [await freePort(), await freePort()];
  const endpoint = `https://127.0.0.1:${port}`;
  const proc = spawn('etcd', [
    '--name', 's1', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--cert-file', join(dir, 'server.crt'), '--key-file', join(dir, 'server.key'), '--trusted-ca-file', join(dir, 'ca.crt'), '--client-cert-auth',
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `s1=http://127.0.0.1:${peer}`,
    '--heartbeat-interval=10', '--election-timeout=100', '--logger', 'zap', '--log-level', 'error', ETCD_KEEPALIVE_MIN_TIME_FLAG, ...extraArgs,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    dir,
    endpoint,
    proc,
    env: { KIWI_ENDPOINTS: endpoint, KIWI_ETCD_CA: join(dir, 'ca.crt'), KIWI_ETCD_CERT: join(dir, 'client.crt'), KIWI_ETCD_KEY: join(dir, 'client.key') },
    async stop() {
      await stopProc(proc, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// TLS end to end: a CA, a server and a client certificate made with openssl in a temp dir; etcd
// on https://127.0.0.1:PORT with --client-cert-auth; kiwictl get/apply and the operator (one
// booking goes Active) connect with --etcd-ca/--etcd-cert/--etcd-key (or KIWI_ETCD_*).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/ports.js';
import { makeCerts } from '../../helpers/tls.js';
import { stopProc } from '../../helpers/etcd.js';
import { ETCD_KEEPALIVE_MIN_TIME_FLAG } from '../../../crds/api/etcd-server.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureBuilt, kiwictl, ROOT } from '../kiwictl/cli.js';

describe('security: TLS with client certificates', function () {
  this.timeout(60_000);
  let dir: string;
  let etcd: ChildProcess;
  let operator: ChildProcess | undefined;
  let endpoint: string;
  let tlsEnv: Record<string, string>;

  before(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-tls-'));
    makeCerts(dir);
    const [port, peer] = [await freePort(), await freePort()];
    endpoint = `https://127.0.0.1:${port}`;
    etcd = spawn('etcd', [
      '--name', 's1', '--data-dir', join(dir, 'data'),
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--cert-file', join(dir, 'server.crt'), '--key-file', join(dir, 'server.key'), '--trusted-ca-file', join(dir, 'ca.crt'), '--client-cert-auth',
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `s1=http://127.0.0.1:${peer}`,
      '--heartbeat-interval=10', '--election-timeout=100', '--logger', 'zap', '--log-level', 'error', ETCD_KEEPALIVE_MIN_TIME_FLAG,
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    tlsEnv = { KIWI_ENDPOINTS: endpoint, KIWI_ETCD_CA: join(dir, 'ca.crt'), KIWI_ETCD_CERT: join(dir, 'client.crt'), KIWI_ETCD_KEY: join(dir, 'client.key') };
    await waitFor(async () => (await kiwictl(['get', 'nodes'], { env: tlsEnv })).code === 0, { timeoutMs: 15_000, what: `etcd on ${endpoint}` });
  });
  after(async () => {
    if (operator) await stopProc(operator, 'SIGTERM');
    if (etcd) await stopProc(etcd, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('kiwictl applies and gets over TLS (flags or KIWI_ETCD_*), and fails clearly without the client certificate', async () => {
    const flags = ['--endpoints', endpoint, '--etcd-ca', join(dir, 'ca.crt'), '--etcd-cert', join(dir, 'client.crt'), '--etcd-key', join(dir, 'client.key')];
    let r = await kiwictl([...flags, 'init']);
    assert.equal(r.code, 0, r.stderr);
    r = await kiwictl([...flags, 'add-node', 'tn1', '--host', '127.0.0.1']);
    assert.equal(r.code, 0, r.stderr);
    r = await kiwictl(['get', 'nodes', '-o', 'name'], { env: tlsEnv });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /tn1/);
    // only the CA: etcd wants a client certificate
    r = await kiwictl(['get', 'nodes', '--request-timeout', '1000'], { env: { KIWI_ENDPOINTS: endpoint, KIWI_ETCD_CA: join(dir, 'ca.crt') } });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /refused the TLS handshake: it wants a client certificate/);
    // no CA: etcd's certificate cannot be verified
    r = await kiwictl(['get', 'nodes', '--request-timeout', '1000'], { env: { KIWI_ENDPOINTS: endpoint } });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /TLS certificate cannot be verified .*set --etcd-ca/);
    assert.doesNotMatch(r.stderr, /DeprecationWarning/);
    // http:// to a TLS etcd
    r = await kiwictl(['get', 'nodes', '--request-timeout', '1000'], { env: { KIWI_ENDPOINTS: endpoint.replace('https:', 'http:') } });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /give https:\/\/ endpoints/);
    // a cert without its key
    r = await kiwictl(['get', 'nodes'], { env: { ...tlsEnv, KIWI_ETCD_KEY: '' } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /needs both --etcd-cert and --etcd-key/);
  });

  it('the operator connects over TLS: a booking goes Active', async () => {
    operator = spawn(process.execPath, [join(ROOT, 'bin/kiwi-operator'), '--id', 'tls-op', '--lease-ttl', '1', '--log-level', 'warn', '--metrics-addr', 'none'], {
      env: { PATH: process.env.PATH!, ...tlsEnv },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const doc = 'apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: tb1, namespace: kiwitest-tls}\nspec: {nodes: [tn1], duration: 30m}\n';
    let r = await kiwictl(['apply', '-f', '-'], { env: tlsEnv, input: doc });
    assert.equal(r.code, 0, r.stderr);
    await waitFor(
      async () => {
        r = await kiwictl(['get', 'booking', 'tb1', '-n', 'kiwitest-tls', '-o', 'json'], { env: tlsEnv });
        return r.code === 0 && JSON.parse(r.stdout).status?.phase === 'Active';
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'tb1 Active over TLS' },
    );
  });
});

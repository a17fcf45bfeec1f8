// kiwictl's fast read path (client/wire.ts) against an etcd with auth and TLS both on, as the
// docs recommend: it reads what the Store (etcd3) reads, logged in with Auth/Authenticate over a
// client certificate; a read etcd refuses is kiwictl's Forbidden (exit 7), a wrong password a
// clear "wrong user or password". Real etcd (https, --client-cert-auth), real kiwictl processes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTlsEtcd, type TlsEtcd } from '../../helpers/tls.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureBuilt, kiwictl } from '../kiwictl/cli.js';
import type { Etcd3 } from 'etcd3';
import { connect, Store } from '../../../crds/api/index.js';
import { Client } from '../../../kiwictl/src/client/index.js';
import { EtcdReader } from '../../../kiwictl/src/client/reader.js';
import { ObjectWatch } from '../../../kiwictl/src/client/watch.js';
import type { Booking } from '../../../crds/api/types.js';
import { credentialPassword } from './helpers.js';

describe('security: the fast read path with etcd auth and TLS', function () {
  this.timeout(60_000);
  let tls: TlsEtcd;
  let credsDir: string;
  let env: Record<string, string>;
  let rootPw: string;
  const clients: Etcd3[] = [];
  const tlsFiles = () => ({ caFile: tls.env.KIWI_ETCD_CA, certFile: tls.env.KIWI_ETCD_CERT, keyFile: tls.env.KIWI_ETCD_KEY });
  const storeAs = (username: string, password: string) => {
    const c = connect({ endpoints: [tls.endpoint], callTimeoutMs: 3000, tls: tlsFiles(), auth: { username, password } });
    clients.push(c);
    return new Store(c, { endpoints: [tls.endpoint], retries: 0 });
  };

  before(async () => {
    await ensureBuilt();
    tls = await startTlsEtcd();
    credsDir = mkdtempSync(join(tmpdir(), 'kiwitest-creds-'));
    env = { ...tls.env, KIWI_CREDENTIALS_DIR: credsDir };
    await waitFor(async () => (await kiwictl(['get', 'nodes'], { env })).code === 0, { timeoutMs: 15_000, what: `etcd on ${tls.endpoint}` });
    for (const args of [['init'], ['add-node', 'fr1', '--host', '127.0.0.1'], ['add-node', 'fr2', '--host', '127.0.0.1', '--label', 'rack=r2']]) {
      const r = await kiwictl(args, { env });
      assert.equal(r.code, 0, r.stderr);
    }
    let r = await kiwictl(['admin', 'enable-auth'], { env });
    assert.equal(r.code, 0, r.stderr);
    rootPw = credentialPassword(credsDir, 'root');
    // an etcd user without any role: etcd refuses every read of it
    execFileSync('etcdctl', ['--endpoints', tls.endpoint, '--cacert', tls.env.KIWI_ETCD_CA, '--cert', tls.env.KIWI_ETCD_CERT, '--key', tls.env.KIWI_ETCD_KEY, '--user', `root:${rootPw}`, 'user', 'add', 'kiwitest-norole', '--new-user-password', 'norole-pw', '--interactive=false'], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'pipe' });
    await storeAs('root', rootPw).create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'frb1', namespace: 'kiwitest-fr' }, spec: { user: 'kiwitest-fr', nodes: ['fr2'], duration: 3600, queue: true } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await tls?.stop();
    if (credsDir) rmSync(credsDir, { recursive: true, force: true });
  });

  it('kiwictl reads through wire.ts, not etcd3, when auth and TLS are configured', async () => {
    const c = new Client({ endpoints: tls.endpoint, etcdCa: tls.env.KIWI_ETCD_CA, etcdCert: tls.env.KIWI_ETCD_CERT, etcdKey: tls.env.KIWI_ETCD_KEY, credentials: join(credsDir, 'root.yaml') });
    try {
      assert.ok((await c.reader()) instanceof EtcdReader);
    } finally {
      c.close();
    }
  });

  it('a booking watch over wire.ts, logged in over TLS, sees only that booking\'s spec and status changes', async () => {
    const c = new Client({ endpoints: tls.endpoint, etcdCa: tls.env.KIWI_ETCD_CA, etcdCert: tls.env.KIWI_ETCD_CERT, etcdKey: tls.env.KIWI_ETCD_KEY, credentials: join(credsDir, 'root.yaml') });
    const store = storeAs('root', rootPw);
    const seen: (Booking | undefined)[] = [];
    const errors: Error[] = [];
    try {
      const reader = await c.watcher();
      assert.ok(reader instanceof EtcdReader, 'watches go over wire.ts, not etcd3');
      const ref = { kind: 'Booking' as const, namespace: 'kiwitest-fr', name: 'frb1' };
      const w = new ObjectWatch(reader, ref, { onObject: (b) => seen.push(b), onInvalid: (e) => errors.push(e), onError: (e) => errors.push(e) });
      await w.start();
      try {
        assert.equal(seen.length, 1);
        assert.equal(seen[0]?.metadata.name, 'frb1');
        assert.equal(seen[0]?.status, undefined);
        // another booking of the same namespace: not this watch's business
        await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'frb2', namespace: 'kiwitest-fr' }, spec: { user: 'kiwitest-fr', nodes: ['fr1'], duration: 60, queue: true } });
        await store.updateStatus({ kind: 'Booking', namespace: 'kiwitest-fr', name: 'frb2' }, { phase: 'Pending', observedGeneration: 1 });
        await store.updateStatus(ref, { phase: 'Pending', observedGeneration: 1 });
        await waitFor(async () => seen.length >= 2, { timeoutMs: 5000, what: 'the status write of frb1 seen by the watch' });
        assert.equal(seen.length, 2, 'frb2\'s writes were not seen');
        assert.equal(seen[1]?.status?.phase, 'Pending');
        assert.equal(seen[1]?.metadata.name, 'frb1');
        await store.delete(ref);
        await waitFor(async () => seen.length >= 3, { timeoutMs: 5000, what: 'the deletion of frb1 seen by the watch' });
        assert.equal(seen[2], undefined);
        assert.deepEqual(errors, []);
      } finally {
        w.stop();
      }
    } finally {
      c.close();
    }
  });

  it('alloc --wait creates and waits over wire.ts with auth and TLS: done once the booking is Active; --timeout with no answer exits 8', async () => {
    const store = storeAs('root', rootPw);
    const e = { ...env, KIWI_ETCD_USER: 'root', KIWI_ETCD_PASSWORD: rootPw };
    const alloc = kiwictl(['alloc', '-u', 'kiwitest-fr', '--no-user-check', '-w', 'fr1', '-t', '1h', '--name', 'frw1', '--wait'], { env: e });
    const ref = { kind: 'Booking' as const, namespace: 'kiwitest-fr', name: 'frw1' };
    await waitFor(async () => (await store.get(ref)) !== undefined, { timeoutMs: 10_000, what: 'alloc to create frw1' });
    // what the operator writes (no operator here: the wait itself is under test)
    await store.updateStatus(ref, { phase: 'Active', observedGeneration: 1, nodes: ['fr1'], startTime: new Date().toISOString(), endTime: new Date(Date.now() + 3600_000).toISOString() });
    const r = await alloc;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /kiwitest-fr\/frw1: Active on fr1 until/, 'the status line showed the Active state');
    assert.match(r.stdout, /fr1/);
    const t = await kiwictl(['alloc', '-u', 'kiwitest-fr', '--no-user-check', '-w', 'fr1', '-t', '1h', '--name', 'frw2', '--wait', '--timeout', '1s'], { env: e });
    assert.equal(t.code, 8, t.stderr);
    assert.match(t.stderr, /timed out after 1s waiting for booking kiwitest-fr\/frw2 to become Active/);
  });

  it('reads the same objects as the Store logged in over TLS, with status and resourceVersion', async () => {
    const store = storeAs('root', rootPw);
    const reader = new EtcdReader([tls.endpoint], 3000, {
      auth: { username: 'root', password: rootPw },
      tls: { ca: readFileSync(tls.env.KIWI_ETCD_CA), cert: readFileSync(tls.env.KIWI_ETCD_CERT), key: readFileSync(tls.env.KIWI_ETCD_KEY) },
    });
    const [want, got] = [await store.list('Node'), await reader.list('Node')];
    assert.equal(got.length, 2);
    assert.deepEqual(got, want);
    assert.deepEqual(await reader.get({ kind: 'ClusterConfig', name: 'default' }), await store.get({ kind: 'ClusterConfig', name: 'default' }));
  });

  it('kiwictl get nodes and get bookings -A print the same as through etcd3', async () => {
    for (const args of [['get', 'nodes', '-o', 'json'], ['get', 'bookings', '-A', '-o', 'json'], ['get', 'nodes', '-l', 'rack=r2', '-o', 'name']]) {
      const fast = await kiwictl(args, { env });
      const slow = await kiwictl(args, { env: { ...env, KIWI_READ_VIA: 'etcd3' } });
      assert.equal(fast.code, 0, fast.stderr);
      assert.equal(slow.code, 0, slow.stderr);
      assert.equal(fast.stdout, slow.stdout, args.join(' '));
    }
    const r = await kiwictl(['get', 'nodes', '-o', 'name'], { env });
    assert.deepEqual(r.stdout.trim().split('\n'), ['node.kiwi.dev/fr1', 'node.kiwi.dev/fr2']);
  });

  it('a read etcd refuses is Forbidden (exit 7) and says so; a wrong password says wrong user or password', async () => {
    let r = await kiwictl(['get', 'nodes'], { env: { ...env, KIWI_ETCD_USER: 'kiwitest-norole', KIWI_ETCD_PASSWORD: 'norole-pw' } });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /list nodes: refused by etcd: kiwitest-norole may not read this/);
    r = await kiwictl(['get', 'nodes'], { env: { ...env, KIWI_ETCD_USER: 'root', KIWI_ETCD_PASSWORD: 'wrong' } });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /etcd refused the login of root \(from KIWI_ETCD_USER\): wrong user or password/);
    // no user: over --client-cert-auth etcd takes the certificate's CN as the user, and refuses
    r = await kiwictl(['get', 'nodes'], { env: { ...env, KIWI_CREDENTIALS_DIR: '/nonexistent' } });
    const slow = await kiwictl(['get', 'nodes'], { env: { ...env, KIWI_CREDENTIALS_DIR: '/nonexistent', KIWI_READ_VIA: 'etcd3' } });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stderr, slow.stderr);
  });

  it('over TLS without the client certificate, the fast path fails as clearly as etcd3 did (exit 6)', async () => {
    const r = await kiwictl(['get', 'nodes', '--request-timeout', '1000'], { env: { ...env, KIWI_ETCD_CERT: '', KIWI_ETCD_KEY: '' } });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /refused the TLS handshake: it wants a client certificate/);
  });

  it('a login is kept for the next commands (0600 token file): reused, replaced once etcd forgets it, never found with a wrong password', async () => {
    const cacheHome = mkdtempSync(join(tmpdir(), 'kiwitest-cache-'));
    try {
      const e = { ...env, XDG_CACHE_HOME: cacheHome };
      const dir = join(cacheHome, 'kiwi', 'etcd-tokens');
      const tokenFile = () => {
        const files = readdirSync(dir);
        assert.equal(files.length, 1, files.join(' '));
        return join(dir, files[0]);
      };
      let r = await kiwictl(['get', 'nodes', '-o', 'name'], { env: e });
      assert.equal(r.code, 0, r.stderr);
      const file = tokenFile();
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const first = JSON.parse(readFileSync(file, 'utf8')).token;
      // etcd hands out a new token at every login: the same token after a second command means no login
      r = await kiwictl(['get', 'bookings', '-A', '-o', 'name'], { env: e });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).token, first);
      // a token etcd does not know (expired, etcd restarted): one new login, and the file holds its token
      writeFileSync(file, JSON.stringify({ token: 'kiwitest-forgotten.1', expires: Date.now() + 60_000 }), { mode: 0o600 });
      r = await kiwictl(['get', 'nodes', '-o', 'name'], { env: e });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), ['node.kiwi.dev/fr1', 'node.kiwi.dev/fr2']);
      const second = JSON.parse(readFileSync(tokenFile(), 'utf8')).token;
      assert.ok(second !== 'kiwitest-forgotten.1' && second !== first, second);
      // a wrong password finds no token: refused as without the cache, and nothing kept for it
      r = await kiwictl(['get', 'nodes'], { env: { ...e, KIWI_ETCD_USER: 'root', KIWI_ETCD_PASSWORD: 'wrong' } });
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.stderr, /etcd refused the login of root \(from KIWI_ETCD_USER\): wrong user or password/);
      assert.equal(tokenFile(), file);
    } finally {
      rmSync(cacheHome, { recursive: true, force: true });
    }
  });
});

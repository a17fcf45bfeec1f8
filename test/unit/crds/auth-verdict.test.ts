// Secure by default, the pure part: which endpoints are loopback, and what a program does
// against an etcd whose authentication is off (crds/api/endpoints.ts); kiwictl's password file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authVerdict, isLoopbackEndpoint } from '../../../crds/api/endpoints.js';
import { resolveCredentials } from '../../../kiwictl/src/client/credentials.js';

describe('secure by default (pure)', () => {
  it('knows loopback endpoints by their spelling', () => {
    for (const e of ['http://127.0.0.1:2379', 'https://127.3.4.5:1', 'http://localhost:2379', 'http://[::1]:2379', 'http://etcd.localhost:2379']) assert.equal(isLoopbackEndpoint(e), true, e);
    for (const e of ['http://10.0.0.1:2379', 'http://etcd1:2379', 'http://127.0.0.1.nip.io:2379', 'http://[::2]:2379', 'not a url', 'http://1270.0.0.1:1']) assert.equal(isLoopbackEndpoint(e), false, e);
  });

  it('refuses a non-loopback etcd without auth unless told; warns then; warns of passwords over http', () => {
    const remote = ['http://127.0.0.1:2379', 'http://etcd2:2379'];
    assert.deepEqual(authVerdict({ endpoints: ['http://127.0.0.1:2379'], authOff: true }), { action: 'ok' }, 'loopback only');
    const r = authVerdict({ endpoints: remote, authOff: true });
    assert.equal(r.action, 'refuse');
    assert.match((r as { message: string }).message, /etcd at http:\/\/etcd2:2379 has authentication off: .*--insecure-no-auth/);
    assert.equal(authVerdict({ endpoints: remote, authOff: true, insecureNoAuth: true }).action, 'warn');
    assert.deepEqual(authVerdict({ endpoints: remote, authOff: false }), { action: 'ok' });
    assert.deepEqual(authVerdict({ endpoints: remote, authOff: undefined }), { action: 'ok' }, 'no answer: nothing to judge');
    const http = authVerdict({ endpoints: remote, authOff: false, credentials: true });
    assert.equal(http.action, 'warn');
    assert.match((http as { message: string }).message, /plain http to http:\/\/etcd2:2379/);
    assert.deepEqual(authVerdict({ endpoints: ['https://etcd2:2379'], authOff: false, credentials: true }), { action: 'ok' });
  });

  it('kiwictl: a password file instead of the command line; the command line form warns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiwitest-pw-'));
    try {
      const f = join(dir, 'pw');
      writeFileSync(f, 's3cret\n', { mode: 0o600 });
      const env = { HOME: dir, KIWI_CREDENTIALS_DIR: dir };
      const a = resolveCredentials({ etcdUser: 'alice', etcdPasswordFile: f }, env);
      assert.deepEqual(a.auth, { username: 'alice', password: 's3cret' });
      assert.deepEqual(a.warnings, []);
      assert.deepEqual(resolveCredentials({ etcdUser: 'alice' }, { ...env, KIWI_ETCD_PASSWORD_FILE: f }).auth, { username: 'alice', password: 's3cret' });
      const b = resolveCredentials({ etcdUser: 'alice', etcdPassword: 'x' }, env);
      assert.match(b.warnings[0], /--etcd-password on a command line can be read by every local user/);
      assert.throws(() => resolveCredentials({ etcdUser: 'alice', etcdPasswordFile: join(dir, 'none') }, env), /--etcd-password-file .*: no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

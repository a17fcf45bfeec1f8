// Property tests of what becomes etcd users, roles and key prefixes (kiwictl admin), and of the
// credential resolution kiwictl does on every run: hostile names never reach a key, any
// credential-file text is read or refused with a Kiwi error, the precedence holds.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { checkName, grantsOf, etcdUserOf } from '../../../crds/api/roles.js';
import { parseCredentialText, resolveCredentials } from '../../../kiwictl/src/client/credentials.js';
import { refusal } from '../../../kiwictl/src/client/index.js';
import { KiwiError } from '../../../crds/api/errors.js';

const hostile = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.array(fc.constantFrom('a', 'z', '0', '_', '-', '.', '/', '..', ' ', '\n', '\u0000', '$', '*', '%', 'é', 'root', 'kiwi-node-'), { maxLength: 20 }).map((a) => a.join('')),
);

describe('fuzz: user and node names, credential files', function () {
  this.timeout(30_000);

  it('an accepted name never escapes its key prefix (5,000 runs)', () => {
    fc.assert(
      fc.property(hostile, fc.constantFrom<'user' | 'node'>('user', 'node'), (name, what) => {
        const bad = checkName(name, what);
        if (bad !== undefined) return void assert.equal(typeof bad, 'string');
        assert.ok(name.length > 0 && name.length <= 63);
        assert.doesNotMatch(name, /[/\s\u0000-\u001f*]|\.\./);
        const id = what === 'node' ? ({ kind: 'node', node: name } as const) : ({ kind: 'user', user: name } as const);
        for (const g of grantsOf(id)) {
          assert.ok(g.key.startsWith('/kiwi/'), g.key);
          if (g.permission !== 'Read') assert.ok(g.key.includes(`/${name}`), `${g.key} is ${name}'s own`);
        }
        assert.ok(!['root', 'kiwi-operator'].includes(etcdUserOf(id)));
      }),
      { numRuns: 5000 },
    );
  });

  it('credential file text: read, or refused with a Kiwi error (3,000 runs)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        try {
          const c = parseCredentialText(text, 'f');
          for (const v of Object.values(c)) assert.equal(typeof v, 'string');
        } catch (e) {
          assert.ok(e instanceof KiwiError, String(e));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('precedence: flags, then env, then --credentials, then ~/.config, then the credentials dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiwitest-creds-unit-'));
    try {
      writeFileSync(join(dir, 'file.yaml'), 'user: fromfile\npassword: "p: w#"\n');
      writeFileSync(join(dir, `${userInfo().username}.yaml`), 'user: fromdir\npassword: d\n');
      const base = { HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', KIWI_CREDENTIALS_DIR: dir };
      assert.deepEqual(resolveCredentials({}, base).auth, { username: 'fromdir', password: 'd' });
      assert.deepEqual(resolveCredentials({ credentials: join(dir, 'file.yaml') }, base).auth, { username: 'fromfile', password: 'p: w#' });
      assert.deepEqual(resolveCredentials({}, { ...base, KIWI_ETCD_USER: 'env', KIWI_ETCD_PASSWORD: 'e' }).auth, { username: 'env', password: 'e' });
      assert.deepEqual(resolveCredentials({ etcdUser: 'flag', etcdPassword: 'f' }, { ...base, KIWI_ETCD_USER: 'env', KIWI_ETCD_PASSWORD: 'e' }).auth, { username: 'flag', password: 'f' });
      assert.equal(resolveCredentials({}, { ...base, KIWI_CREDENTIALS_DIR: '/nonexistent' }).auth, undefined);
      assert.throws(() => resolveCredentials({ etcdCert: '/x' }, base), /needs both/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refusals name the rule', () => {
    assert.match(refusal('create Booking bob/x: permission denied by etcd (etcdserver: permission denied)', 'alice'), /alice may only write their own bookings/);
    assert.match(refusal('update Node n1: permission denied by etcd (x)', 'alice'), /alice may not change nodes; that is for admins/);
    assert.match(refusal('update status of Booking alice/x: permission denied by etcd (x)', 'alice'), /status is written by the operator and the node daemons only/);
    assert.match(refusal('delete Booking bob/x: permission denied by etcd (x)', 'alice'), /alice may only write their own bookings/);
  });
});

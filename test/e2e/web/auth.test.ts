// kiwi-web against an etcd with authentication on (kiwictl admin enable-auth): users log in with
// their Kiwi etcd user and password, and etcd itself decides their writes: a write kiwi-web's own
// early check lets through is still refused by etcd when the user's role lacks it.
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/wait.js';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { distScript } from '../../helpers/build.js';
import { credentialPassword, startAuthCluster, type AuthCluster } from '../../integration/security/helpers.js';
import { API, booking, startWeb, type Web } from './harness.js';

describe('kiwi-web with etcd authentication on', function () {
  this.timeout(60_000);
  let c: AuthCluster;
  let web: Web;
  let alice: TestUser, bob: TestUser, carol: TestUser, reader: TestUser;

  before(async () => {
    [alice, bob, carol, reader] = ['web-alice', 'web-bob', 'web-carol', 'web-reader'].map(ensureUser);
    c = await startAuthCluster(async (k) => {
      for (const args of [['init'], ['add-node', 'wn1', '--host', '127.0.0.1']]) {
        const r = await k(args);
        if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
      }
    });
    for (const u of [alice, bob, carol, reader]) {
      const r = await c.k(['admin', 'add-user', u.name]);
      assert.equal(r.code, 0, r.stderr);
    }
    // carol becomes an admin in the ClusterConfig only after enable-auth: kiwi-web's early check
    // then lets her book for others, but her etcd role is a plain user's, so etcd must refuse.
    const root = c.storeAs('root');
    const cc = await root.mustGet({ kind: 'ClusterConfig', name: 'default' });
    await root.update({ ...cc, spec: { ...cc.spec, admins: [carol.name] } });
    web = await startWeb(c.etcd.endpoint, ['--etcd-password-file', join(c.credsDir, `${reader.name}.yaml`)]);
  });
  after(async () => {
    await web?.stop();
    await c?.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(web.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const login = async (u: TestUser, password = credentialPassword(c.credsDir, u.name)) => post('/web/login', { user: u.name, password, token: true });

  it('does not start without an etcd user to read with, and refuses dev login', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [distScript('kiwi-web'), '--endpoints', c.etcd.endpoint, '--listen', '127.0.0.1:0', ...args], { encoding: 'utf8', timeout: 20_000 });
    const bare = run([]);
    assert.equal(bare.status, 2, bare.stderr);
    assert.match(bare.stderr, /authentication on: give kiwi-web a user that may read \/kiwi\/ with --etcd-user\/--etcd-password-file/);
    const dev = run(['--login', 'dev', '--etcd-password-file', join(c.credsDir, `${reader.name}.yaml`)]);
    assert.equal(dev.status, 2, dev.stderr);
    assert.match(dev.stderr, /name-only login is allowed only when .*\(etcd has authentication on\)/);
  });

  it('shows the calendar read-only with its own etcd user, and says how to log in', async () => {
    const s = (await (await fetch(`${web.url}/web/session`)).json()) as any;
    assert.equal(s.loginMode, 'etcd');
    assert.match(s.note, /etcd user and password/);
    const nodes = (await (await fetch(`${web.url}${API}/nodes`)).json()) as any;
    assert.deepEqual(nodes.items.map((n: any) => n.metadata.name), ['wn1']);
  });

  it('refuses a wrong password and a name without one', async () => {
    const wrong = await login(alice, 'not-the-password');
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as any).message, /etcd refused the login of kiwitest-web-alice: wrong user or password/);
    const none = await post('/web/login', { user: alice.name, token: true });
    assert.equal(none.status, 400);
    assert.match(((await none.json()) as any).message, /give your Kiwi etcd password/);
  });

  it('writes as the logged-in user: their own booking is made, another user\'s is refused by etcd itself', async () => {
    const a = await login(alice);
    assert.equal(a.status, 200);
    const at = ((await a.json()) as any).token;
    const made = await post(`${API}/namespaces/${alice.name}/bookings`, booking(alice.name, { nodes: ['wn1'], duration: '10m' }, 'mine'), { authorization: `Bearer ${at}` });
    assert.equal(made.status, 201, await made.clone().text());
    const ct = ((await (await login(carol)).json()) as any).token;
    const theirs = await post(`${API}/namespaces/${bob.name}/bookings`, booking(bob.name, { nodes: ['wn1'], duration: '10m' }, 'not-carols'), { authorization: `Bearer ${ct}` });
    assert.equal(theirs.status, 403);
    assert.match(((await theirs.json()) as any).message, /permission denied by etcd/);
    assert.equal(await c.storeAs('root').get({ kind: 'Booking', namespace: bob.name, name: 'not-carols' }), undefined);
  });

  it('dryRun with auth on: the leading operator answers the logged-in user\'s own request (etcd lets users write /kiwi/dryrun/<user>/), and nothing stays', async () => {
    c.startOperator();
    const at = ((await (await login(alice)).json()) as any).token;
    // wn1 has no daemon here: whatever the operator decides, the answer must be its own, not the forecast
    const pv = await waitFor(async () => {
      const r = await post(`${API}/namespaces/${alice.name}/bookings?dryRun=All`, booking(alice.name, { nodes: ['wn1'], duration: '5m' }), { authorization: `Bearer ${at}` });
      const body = (await r.json()) as any;
      return (body.metadata?.annotations?.['kiwi.dev/dry-run-source'] === 'operator' || (r.status === 409 && !/forecast/.test(body.message))) && body;
    }, { timeoutMs: 20_000, what: 'the operator\'s own dry-run answer' });
    assert.doesNotMatch(JSON.stringify(pv), /forecast from the planned slots/);
    await waitFor(async () => (await c.storeAs('root').etcd.getAll().prefix('/kiwi/dryrun/').keys()).length === 0, { timeoutMs: 15_000, what: 'no dry-run keys left' });
  });
});

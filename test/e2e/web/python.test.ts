// The notebook example (kiwi-web/examples/notebook.py, shown in kiwi-web/README.md) run with the
// machine's python3 against a real cluster and kiwi-web: it books a node, reports the planned
// start while it waits behind another booking, runs a benchmark over ssh on a real sshd
// (test/helpers/sshd.ts) as a real kiwitest user, and ends the booking.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/build.js';
import { deleteUser, ensureUser, type TestUser } from '../../helpers/users.js';
import { sshdAvailable, sshLogin, type SshLogin } from '../../helpers/sshd.js';
import { killAllOf } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/wait.js';
import { kiwictl, startCluster, type Cluster } from './harness.js';

const SCRIPT = join(ROOT, 'kiwi-web', 'examples', 'notebook.py');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const SERVICE = 'kiwitest-web-sshd';

describe('the notebook example (python3, standard library) against kiwi-web', function () {
  this.timeout(90_000);
  let c: Cluster;
  let login: SshLogin;
  let user: TestUser;

  before(async function () {
    const missing = sshdAvailable();
    if (missing) {
      console.error(`skipping the notebook e2e test: ${missing}`);
      this.skip();
    }
    user = ensureUser('notebook');
    login = await sshLogin(user, SERVICE); // a plain PAM stack: this test is about the notebook, not Kiwi's PAM gate
    c = await startCluster(2);
    // the simulated node n-0 is reached over ssh at the test sshd
    const store = c.etcd.store();
    const n0 = await store.mustGet({ kind: 'Node', name: 'n-0' });
    await store.update({ ...n0, spec: { ...n0.spec, address: '127.0.0.1', sshPort: login.sshd.port } });
  });
  after(async () => {
    await c?.stop();
    await login?.stop();
    if (user) {
      await killAllOf(user);
      deleteUser(user.name);
    }
  });

  it('is the code kiwi-web/README.md shows', () => {
    const readme = readFileSync(join(ROOT, 'kiwi-web', 'README.md'), 'utf8');
    const block = /```python\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.equal(block, readFileSync(SCRIPT, 'utf8'));
  });

  it('books a node, reports the planned start while waiting, runs a benchmark over ssh, ends the booking', async () => {
    // somebody holds the node for a few seconds: the notebook waits in line behind them
    const hold = kiwictl(c.etcd.endpoint, ['alloc', '-u', 'kiwitest-holder', '--no-user-check', '-w', 'n-0', '-t', '4s', '--name', 'h1']);
    assert.equal(hold.code, 0, hold.stderr);
    const env = {
      PATH: process.env.PATH!, HOME: login.dir,
      KIWI_URL: c.web.url, KIWI_USER: user.name, KIWI_NODE: 'n-0',
      KIWI_BENCH: 'echo bench-by-$(whoami); nproc',
      KIWI_SSH_OPTS: `-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o ConnectTimeout=10 -o LogLevel=ERROR -i ${login.key}`,
    };
    const p = spawn(PYTHON, [SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => p.on('exit', r));
    const all = `stdout:\n${out}\nstderr:\n${err}\nsshd:\n${login.sshd.log().slice(-800)}`;
    assert.equal(code, 0, all);
    assert.match(out, /booked kiwitest-notebook\/bk-[a-z0-9]{5} on n-0 for 10 minutes/, all);
    assert.match(out, /waiting: planned start \d{4}-\d\d-\d\dT[\d:.]+Z: .*kiwitest-holder\/h1/, all);
    assert.match(out, /Active on n-0 until/, all);
    assert.match(out, new RegExp(`bench-by-${user.name}\\n\\d+\\n`), all);
    assert.match(out, /benchmark exited with 0/, all);
    const name = /ended kiwitest-notebook\/(bk-[a-z0-9]{5})/.exec(out)?.[1];
    assert.ok(name, all);
    await waitFor(async () => (await c.etcd.store().get({ kind: 'Booking', namespace: user.name, name }))?.status?.reason === 'Cancelled', { what: 'the notebook\'s booking ended' });
  });
});

// kiwictl run end to end: the real built kiwictl and kiwi-operator, a real etcd, and a real
// sshd on 127.0.0.1 (test/helpers/sshd.ts) that a kiwitest user logs in to with a key. The
// Node's address is 127.0.0.1 and its sshPort the test sshd's port; ssh options come from
// KIWI_SSH_OPTS and -i / --ssh-option.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Booking } from '../../../crds/api/index.js';
import { deleteUser, ensureUser, type TestUser } from '../../helpers/users.js';
import { authorize, clientKey, removePamService, sshdAvailable, startSshd, writePamService, type TestSshd } from '../../helpers/sshd.js';
import { killAllOf } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/wait.js';
import { startCluster, startKiwictl, type Cluster } from '../../integration/kiwictl/booking-helpers.js';

const SERVICE = 'kiwitest-ctl-sshd';
// A plain account stack: this test is about kiwictl run, not Kiwi's PAM gate (test/e2e/pam).
const PAM = `# kiwictl run e2e test service (removed by the test)
@include common-auth
account    required     pam_nologin.so
@include common-account
@include common-session
`;

describe('kiwictl run (e2e: real sshd, etcd, operator)', function () {
  this.timeout(60_000);
  let c: Cluster;
  let sshd: TestSshd;
  let user: TestUser;
  let dir: string;
  let key: string;
  let sshOpts: string;
  const bookings = async (): Promise<Booking[]> => JSON.parse((await c.k(['get', 'bookings', '-n', user.name, '-o', 'json'])).stdout).items;

  before(async function () {
    const missing = sshdAvailable();
    if (missing) {
      console.error(`skipping kiwictl run e2e: ${missing}`);
      this.skip();
    }
    user = ensureUser('ctl-runner');
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-ctl-run-'));
    const k = clientKey(dir);
    key = k.key;
    authorize(user, k.pub);
    writePamService(SERVICE, PAM);
    sshd = await startSshd({ service: SERVICE });
    c = await startCluster('kiwitest-ctl-run-op');
    assert.equal((await c.k(['add-node', 'r1', '--host', '127.0.0.1', '--port', String(sshd.port)])).code, 0);
    sshOpts = `-F /dev/null -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o ConnectTimeout=10 -o LogLevel=ERROR`;
  });
  after(async () => {
    await c?.stop();
    await sshd?.stop();
    removePamService(SERVICE);
    if (user) {
      await killAllOf(user);
      deleteUser(user.name);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the command on the node as the user, passes on its exit code, and ends the booking', async () => {
    const r = await c.k(
      ['run', '-u', user.name, '-w', 'r1', '-t', '5m', '-i', key, '--ssh-option', 'StrictHostKeyChecking=no', '--', 'echo hello-$(whoami)-$(hostname -I >/dev/null; echo ok); exit 3'],
      { env: { KIWI_SSH_OPTS: sshOpts } },
    );
    assert.equal(r.code, 3, `stdout: ${r.stdout}\nstderr: ${r.stderr}\nsshd: ${sshd.log().slice(-1500)}`);
    assert.match(r.stdout, new RegExp(`hello-${user.name}-ok`));
    assert.match(r.stderr, /Active on r1 until/);
    assert.match(r.stderr, /ended \(the command exited with 3\)/);
    const [b] = await bookings();
    assert.equal(b.spec.cancelled, true);
    await waitFor(async () => (await bookings())[0].status?.phase === 'Expired', { what: 'the run booking to expire' });
    assert.equal((await bookings())[0].status!.reason, 'Cancelled');
  });

  it('waits in line while the node is busy, then runs; exit 0 for a command that succeeds', async () => {
    const hold = await c.k(['alloc', '-u', user.name, '-w', 'r1', '-t', '1h', '--name', 'holder']);
    assert.equal(hold.code, 0, hold.stderr);
    const run = startKiwictl(['run', '-u', user.name, '-w', 'r1', '-t', '5m', '--name', 'queued', '--', 'test', '-n', '"$USER"'], {
      ...c.env,
      KIWI_SSH_OPTS: `${sshOpts} -i '${key}' -o StrictHostKeyChecking=no`,
    });
    await waitFor(() => /queued: Pending, starts .* after kiwitest-ctl-runner\/holder/.test(run.stderr()), { what: 'run to show that it waits' });
    assert.equal((await c.k(['kill', 'holder', '-n', user.name])).code, 0);
    const r = await run.done;
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /queued: Active on r1/);
    const q = (await bookings()).find((b) => b.metadata.name === 'queued')!;
    assert.equal(q.spec.cancelled, true);
  });

  it('ssh that cannot log in exits 255 and still ends the booking', async () => {
    const r = await c.k(['run', '-u', user.name, '-w', 'r1', '-t', '5m', '--name', 'nokey', '--', 'true'], {
      env: { KIWI_SSH_OPTS: `${sshOpts} -o StrictHostKeyChecking=no -o PubkeyAuthentication=no` },
    });
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /ssh exited with 255/);
    assert.equal((await bookings()).find((b) => b.metadata.name === 'nokey')!.spec.cancelled, true);
  });

  it('refuses bad input before booking anything', async () => {
    const before = (await bookings()).length;
    let r = await c.k(['run', '-u', user.name, '-w', 'r1', '-t', '-5', '--', 'true']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /negative/);
    r = await c.k(['run', '-u', user.name, '-w', 'nosuch', '-t', '5m', '--', 'true']);
    assert.equal(r.code, 3);
    r = await c.k(['run', '-u', user.name, '-w', 'r1', '-t', '5m', '--', 'true'], { env: { KIWI_SSH_OPTS: "-o 'unterminated" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /KIWI_SSH_OPTS: unmatched '/);
    assert.equal((await bookings()).length, before);
  });
});

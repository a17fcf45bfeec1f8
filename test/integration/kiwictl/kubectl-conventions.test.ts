// kiwictl at kubectl's level (issue 16), against a real etcd and the real operator, through the
// real built binary, as root (an admin) and as kiwitest users: strict JSON, get nodes with who
// holds each node, NAMESPACE/NAME, jsonpath/custom-columns/sort-by/field-selector, dry runs
// (client and server: nothing written), diff, a ClusterConfig apply that keeps the admins,
// delete node of a booked node, label/annotate, kill -u, the client-side checks of apply and
// delete, and the staleness hint once no operator leads.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteUser, ensureUser, type TestUser } from '../../helpers/users.js';
import { waitFor } from '../../helpers/wait.js';
import { startCluster, type Cluster } from './booking-helpers.js';
import { KIWICTL } from './cli.js';
import { startOperator, type OperatorProc } from '../operator/helpers.js';

describe('kiwictl kubectl conventions (real etcd, real operator, real binary)', function () {
  this.timeout(90_000);
  let c: Cluster;
  let alice: TestUser;
  let bob: TestUser;
  let tmp: string;
  let op2: OperatorProc | undefined;
  const k = (...args: string[]) => c.k(args);
  const ok = (r: { code: number | null; stdout: string; stderr: string }, code = 0) =>
    assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const file = (name: string, text: string) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  const keysUnder = async (prefix: string) => (await c.etcd.client().getAll().prefix(prefix).keys()).sort();

  before(async () => {
    alice = ensureUser('cv-alice');
    bob = ensureUser('cv-bob');
    tmp = mkdtempSync(join(tmpdir(), 'kiwitest-cv-'));
    chmodSync(tmp, 0o755); // the test users read files from here
    c = await startCluster('kiwitest-cv-op');
    ok(await k('init', '--admin', 'root'));
    ok(await k('add-node', 'n1', '--host', '127.0.0.1', '--label', 'gpu=a100'));
    ok(await k('add-node', 'n2', '--host', '127.0.0.1'));
    ok(await k('add-node', 'n10', '--host', '127.0.0.1'));
  });
  after(async () => {
    await op2?.stop();
    await c?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    for (const u of [alice, bob]) if (u) deleteUser(u.name);
  });

  it('apply -f x.json refuses trailing commas (strict JSON, like kubectl), nothing written', async () => {
    const before = await keysUnder('/kiwi/spec/');
    const r = await k('apply', '-f', file('n.json', '{\n  "apiVersion": "kiwi.dev/v1alpha1",\n  "kind": "Node",\n  "metadata": {"name": "nj"},\n  "spec": {"address": "10.0.0.1",},\n}\n'));
    ok(r, 2);
    assert.match(r.stderr, /n\.json: malformed JSON at line 5, column 34: invalid character '\}' looking for beginning of object key string \(a trailing comma before it/);
    assert.deepEqual(await keysUnder('/kiwi/spec/'), before);
  });

  it('get nodes shows the user and booking holding a node, and NoDaemon for a node without one', async () => {
    ok(await k('alloc', '-u', alice.name, '-w', 'n1', '-t', '2m', '--name', 'a1'));
    const r = await k('get', 'nodes');
    ok(r);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^NAME\s+STATUS\s+USER\s+BOOKING\s+UNTIL$/);
    const n1 = lines.find((l) => l.startsWith('n1 '))!;
    assert.match(n1, new RegExp(`^n1\\s+NoDaemon\\s+${alice.name}\\s+a1\\s+\\d\\d:\\d\\d$`));
    assert.match(lines.find((l) => l.startsWith('n2 '))!, /^n2\s+NoDaemon\s+-\s+-\s+-$/);
    assert.doesNotMatch(r.stdout, /Unknown/);
  });

  it('get and describe take NAMESPACE/NAME, as kill, extend and wait do', async () => {
    let r = await k('get', 'booking', `${alice.name}/a1`, '-o', 'jsonpath={.status.phase}');
    ok(r);
    assert.equal(r.stdout, 'Active');
    r = await k('describe', 'booking', `${alice.name}/a1`);
    ok(r);
    assert.match(r.stdout, new RegExp(`Namespace:\\s+${alice.name}`));
    r = await k('get', 'booking', `${alice.name}/nope`);
    ok(r, 3);
    assert.match(r.stderr, new RegExp(`"${alice.name}/nope" not found`));
    r = await k('get', 'node', 'x/n1');
    ok(r, 2);
    assert.match(r.stderr, /nodes have no namespace/);
  });

  it('-o jsonpath, -o custom-columns, --sort-by and --field-selector', async () => {
    ok(await k('alloc', '-u', bob.name, '-w', 'n1', '-t', '1m', '--name', 'b1'));
    ok(await k('alloc', '-u', bob.name, '-w', 'n2', '-t', '1m', '--name', 'b2'));
    ok(await k('kill', `${bob.name}/b2`));
    let r = await k('get', 'bk', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}', '--sort-by', '.metadata.name');
    ok(r);
    assert.equal(r.stdout, 'a1=Active\nb1=Pending\nb2=Expired\n');
    r = await k('get', 'bk', '-A', '--field-selector', 'status.phase!=Expired', '-o', 'custom-columns=NAME:.metadata.name,USER:.spec.user,START:.status.startTime', '--sort-by', '{.status.startTime}');
    ok(r);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0], /^NAME\s+USER\s+START$/);
    assert.deepEqual(rows.slice(1).map((l) => l.split(/\s+/)[0]), ['a1', 'b1']);
    r = await k('get', 'bk', '-A', '--field-selector', `status.phase==Pending,spec.user=${bob.name}`, '-o', 'name');
    ok(r);
    assert.equal(r.stdout, 'booking.kiwi.dev/b1\n');
    r = await k('get', 'bk', '--field-selector', 'spec.nodes=n1');
    ok(r, 2);
    assert.match(r.stderr, /field label not supported: spec\.nodes/);
    r = await k('get', 'nodes', '--sort-by', '.metadata.name', '-o', 'name');
    assert.equal(r.stdout, 'node.kiwi.dev/n1\nnode.kiwi.dev/n2\nnode.kiwi.dev/n10\n');
  });

  it('wait on a terminal counts down every second while the booking stays Pending', async () => {
    // script(1) gives kiwictl a terminal; --timeout ends the wait (exit 8) after a few redraws
    const { spawnSync } = await import('node:child_process');
    ok(await k('alloc', '-u', alice.name, '-w', 'n10', '-t', '40s', '--name', 'c1'));
    ok(await k('alloc', '-u', bob.name, '-w', 'n10', '-t', '1m', '--name', 'c2'));
    try {
      const cmd = `${KIWICTL} wait ${bob.name}/c2 --for=phase=Active --timeout 4s`;
      const out = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...c.env, XDG_CONFIG_HOME: '/nonexistent', KIWI_DEV_STATE_DIR: '/nonexistent' }, encoding: 'utf8', timeout: 20_000 });
      assert.equal(out.status, 8, out.stdout + out.stderr);
      const shown = [...out.stdout.matchAll(/\(in (\d+)s\)/g)].map((m) => Number(m[1]));
      assert.ok(shown.length >= 3, `too few redraws: ${JSON.stringify(out.stdout)}`);
      assert.ok(new Set(shown).size >= 3 && shown[shown.length - 1] < shown[0], `the countdown did not move: ${JSON.stringify(shown)}`);
      assert.match(out.stdout, /\r\x1b\[K/, 'redrawn in place');
    } finally {
      ok(await k('kill', `${alice.name}/c1`, `${bob.name}/c2`));
    }
  });

  it('--dry-run=server says when a booking would start and after whom, writing nothing', async () => {
    const before = await keysUnder('/kiwi/');
    const f = file('bk.yaml', `apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: probe, namespace: ${bob.name}}\nspec: {nodes: [n1], duration: 10m}\n`);
    let r = await k('apply', '-f', f, '--dry-run=server');
    ok(r);
    assert.match(r.stdout, /booking\.kiwi\.dev\/probe created \(server dry run\)/);
    assert.match(r.stdout, new RegExp(`would start at \\d\\d:\\d\\d \\(in \\d+[sm]\\) on n1, until \\d\\d:\\d\\d, after ${bob.name}/b1`));
    assert.deepEqual(await keysUnder('/kiwi/'), before, 'a server dry run writes nothing that stays');
    // a refusal: too long for maxDuration
    const long = file('long.yaml', `apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: probe2, namespace: ${bob.name}}\nspec: {nodes: [n2], duration: 30d}\n`);
    r = await k('apply', '-f', long, '--dry-run=server');
    ok(r, 9);
    assert.match(r.stderr, /would be refused \(Rejected\)/);
    // client: no operator asked
    r = await k('apply', '-f', f, '--dry-run=client');
    ok(r);
    assert.equal(r.stdout, 'booking.kiwi.dev/probe created (dry run)\n');
    r = await k('apply', '-f', f, '--dry-run=maybe');
    ok(r, 2);
  });

  it('alloc --dry-run=server answers "when would this start" before booking', async () => {
    const before = await keysUnder('/kiwi/spec/');
    const r = await k('alloc', '-u', bob.name, '-w', 'n1', '-t', '5m', '--dry-run=server');
    ok(r);
    assert.match(r.stdout, /would start at .* on n1/);
    assert.deepEqual(await keysUnder('/kiwi/spec/'), before);
  });

  it('applying the example ClusterConfig keeps the admins; a file that drops them is refused without --force; diff shows it', async () => {
    ok(await k('init', '--admin', 'root', '--admin', alice.name));
    let r = await k('apply', '-f', 'manifests/examples/clusterconfig.yaml');
    ok(r);
    let cc = JSON.parse((await k('get', 'cc', 'default', '-o', 'json')).stdout);
    assert.deepEqual(cc.spec.admins, ['root', alice.name]);
    const drop = file('cc.yaml', 'apiVersion: kiwi.dev/v1alpha1\nkind: ClusterConfig\nmetadata: {name: default}\nspec: {admins: [root], maxDuration: 3d}\n');
    r = await k('diff', '-f', drop);
    ok(r, 2);
    assert.match(r.stderr, new RegExp(`would remove ${alice.name} from spec\\.admins`));
    r = await k('apply', '-f', drop);
    ok(r, 2);
    assert.match(r.stderr, /add --force to replace it/);
    r = await k('diff', '-f', drop, '--force');
    ok(r, 1);
    assert.match(r.stdout, new RegExp(`^-    - ${alice.name}$`, 'm'));
    assert.match(r.stdout, /^\+  maxDuration: 259200$/m);
    r = await k('diff', '-f', 'manifests/examples/clusterconfig.yaml');
    ok(r, 0);
    assert.equal(r.stdout, '');
    ok(await k('apply', '-f', drop, '--force'));
    cc = JSON.parse((await k('get', 'cc', 'default', '-o', 'json')).stdout);
    assert.deepEqual(cc.spec.admins, ['root']);
  });

  it('delete node of a booked node warns and needs --force without a terminal', async () => {
    let r = await k('delete', 'node', 'n1');
    ok(r, 2);
    assert.match(r.stderr, new RegExp(`node n1 is held by ${alice.name}/a1 \\(${alice.name}, until \\d\\d:\\d\\d\\): deleting it ends that booking now`));
    assert.match(r.stderr, /add --force/);
    ok(await k('get', 'node', 'n1'));
    r = await k('delete', 'node', 'n10');
    ok(r);
    r = await k('delete', 'node', 'n1', '--force');
    ok(r);
    assert.match(r.stdout, /node\.kiwi\.dev\/n1 deleted/);
  });

  it('label and annotate: kubectl syntax, --overwrite, KEY- removes', async () => {
    ok(await k('label', 'node', 'n2', 'rack=r1'));
    let r = await k('label', 'node', 'n2', 'rack=r2');
    ok(r, 2);
    assert.match(r.stderr, /'rack' already has a value \(r1\), and --overwrite is false/);
    ok(await k('label', 'node', 'n2', 'rack=r2', '--overwrite'));
    assert.equal((await k('get', 'node', 'n2', '-o', 'jsonpath={.metadata.labels.rack}')).stdout, 'r2');
    r = await k('label', 'node', 'n2', 'rack-');
    ok(r);
    assert.match(r.stdout, /node\.kiwi\.dev\/n2 labeled/);
    assert.equal((await k('get', 'node', 'n2', '-o', 'jsonpath={.metadata.labels}')).stdout, '');
    ok(await k('annotate', 'booking', `${alice.name}/a1`, 'note=thesis run'));
    assert.equal((await k('get', 'bk', `${alice.name}/a1`, '-o', 'jsonpath={.metadata.annotations.note}')).stdout, 'thesis run');
  });

  it('apply, delete, label of other users\' bookings and of nodes are refused client-side for non-admins (exit 7)', async () => {
    const theirs = file('theirs.yaml', `apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: x, namespace: ${alice.name}}\nspec: {nodes: [n2], duration: 10m}\n`);
    let r = await c.as(bob, ['apply', '-f', theirs]);
    ok(r, 7);
    assert.match(r.stderr, new RegExp(`apply booking ${alice.name}/x: it belongs to ${alice.name}; only they or an admin`));
    r = await c.as(bob, ['delete', 'booking', `${alice.name}/a1`]);
    ok(r, 7);
    r = await c.as(bob, ['delete', 'node', 'n2']);
    ok(r, 7);
    assert.match(r.stderr, /delete node n2: that is for admins/);
    r = await c.as(bob, ['label', 'node', 'n2', 'a=b']);
    ok(r, 7);
  });

  it('kill -u USER ends all of that user\'s live bookings (scancel -u)', async () => {
    ok(await k('alloc', '-u', bob.name, '-w', 'n2', '-t', '5m', '--name', 'b3'));
    const r = await k('kill', '-u', bob.name);
    ok(r);
    assert.match(r.stdout, new RegExp(`booking ${bob.name}/b3 cancelled`));
    const left = await k('get', 'bk', '-n', bob.name, '--field-selector', 'status.phase!=Expired', '-o', 'name');
    assert.equal(left.stdout, '');
    const again = await k('kill', '-u', bob.name);
    ok(again);
    assert.match(again.stdout, /no bookings of .* to end/);
  });

  it('edit: the saved change is validated and written; an invalid one re-opens with the errors; no change cancels', async () => {
    const editor = (name: string, script: string) => {
      const p = file(name, `#!/bin/sh\n${script}\n`);
      chmodSync(p, 0o755);
      return p;
    };
    // changes the address
    let r = await c.k(['edit', 'node', 'n2'], { env: { KIWI_EDITOR: editor('ed1', `sed -i 's/address: 127.0.0.1/address: 10.1.2.3/' "$1"`) } });
    ok(r);
    assert.match(r.stdout, /node\.kiwi\.dev\/n2 edited/);
    assert.equal((await k('get', 'node', 'n2', '-o', 'jsonpath={.spec.address}')).stdout, '10.1.2.3');
    // saves nothing new
    r = await c.k(['edit', 'node', 'n2'], { env: { KIWI_EDITOR: editor('ed2', 'true') } });
    ok(r);
    assert.match(r.stdout, /Edit cancelled, no changes made/);
    // an invalid port: the second round sees the error on top and gives up unchanged
    const seen = join(tmp, 'seen.txt');
    r = await c.k(['edit', 'node', 'n2'], { env: { KIWI_EDITOR: editor('ed3', `cp "$1" ${seen}.$$; grep -q 'could not be saved' "$1" || sed -i 's/sshPort: 22/sshPort: 99999/' "$1"`) } });
    ok(r, 2);
    assert.match(r.stderr, /still invalid; nothing was written/);
    assert.equal((await k('get', 'node', 'n2', '-o', 'jsonpath={.spec.sshPort}')).stdout, '22');
    // the second round showed the validation error on top of the file
    const { readdirSync } = await import('node:fs');
    const rounds = readdirSync(tmp).filter((f) => f.startsWith('seen.txt.'));
    assert.ok(rounds.some((f) => /could not be saved:\n# .*sshPort/.test(readFileSync(join(tmp, f), 'utf8'))), 'the errors were shown in the re-opened file');
  });

  it('history lists my bookings of the last month, deleted ones too (from their events)', async () => {
    ok(await k('delete', 'booking', `${bob.name}/b2`));
    const r = await c.as(bob, ['history', '-o', 'json']);
    ok(r);
    const rows = JSON.parse(r.stdout);
    const by = new Map(rows.map((x: any) => [x.booking, x]));
    assert.equal((by.get(`${bob.name}/b1`) as any)?.deleted, false);
    assert.deepEqual([(by.get(`${bob.name}/b2`) as any)?.state, (by.get(`${bob.name}/b2`) as any)?.deleted], ['Cancelled', true]);
    assert.ok(rows.every((x: any) => x.user === bob.name));
    const t = await c.as(bob, ['history']);
    assert.match(t.stdout, /^BOOKING\s+USER\s+NODES\s+SUBMITTED\s+START\s+END\s+ELAPSED\s+STATE$/m);
  });

  it('get and info warn once no operator leads; quiet again when one does', async () => {
    let r = await k('get', 'nodes');
    assert.doesNotMatch(r.stderr, /no kiwi-operator is leading/);
    await c.operator.stop();
    r = await k('get', 'nodes');
    ok(r);
    assert.match(r.stderr, /warning: no kiwi-operator is leading \(nobody holds \/kiwi\/election\/operator\)/);
    r = await k('info');
    assert.match(r.stderr, /no kiwi-operator is leading/);
    r = await k('get', 'nodes', '-o', 'json');
    JSON.parse(r.stdout); // the hint goes to stderr: stdout stays parseable
    op2 = startOperator(c.etcd.endpoint, { id: 'kiwitest-cv-op2', leaseTtl: 1 });
    await waitFor(async () => !/no kiwi-operator/.test((await k('info')).stderr), { timeoutMs: 15_000, what: 'the hint to go once an operator leads again' });
  });
});

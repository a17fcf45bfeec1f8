// The pure parts of kiwictl's kubectl-level verbs: apply's plan for a ClusterConfig, --dry-run
// values, label/annotate syntax, delete's warning for booked nodes, history rows, edit's
// comment stripping, and man pages and fish completion made from the command tree.
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { prepareApply, wouldDo } from '../../../kiwictl/src/cmd/apply/plan.js';
import { parseDryRun } from '../../../kiwictl/src/cmd/apply/index.js';
import { applyMetaChanges, parseMetaChanges } from '../../../kiwictl/src/cmd/label/index.js';
import { heldNodesWarning } from '../../../kiwictl/src/cmd/delete/index.js';
import { historyRows } from '../../../kiwictl/src/cmd/history/rows.js';
import { stripComments } from '../../../kiwictl/src/cmd/edit/index.js';
import { liveBookingsOf } from '../../../kiwictl/src/cmd/kill/index.js';
import { manPages } from '../../../kiwictl/src/cmd/man/roff.js';
import { fishScript, treeOf } from '../../../kiwictl/src/cmd/completion/script.js';
import { examples } from '../../../kiwictl/src/cmd/verb.js';

const cc = (spec: any): any => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec });

describe('kiwictl apply: a ClusterConfig keeps what a file leaves out', () => {
  it('fills in the fields the file does not name, from the stored config', () => {
    const p = prepareApply([cc({ maxDuration: 3600 })], [cc({ admins: ['root', 'ann'], sshBypassUsers: ['backup'], maxDuration: 7200 })]);
    assert.deepEqual(p.problems, []);
    assert.deepEqual((p.objects[0] as any).spec, { admins: ['root', 'ann'], sshBypassUsers: ['backup'], maxDuration: 3600 });
  });
  it('refuses to take users off admins or sshBypassUsers without force', () => {
    const p = prepareApply([cc({ admins: ['labadmin'] })], [cc({ admins: ['root', 'ann'] })]);
    assert.equal(p.problems.length, 1);
    assert.match(p.problems[0], /would remove root, ann from spec\.admins \(now root, ann\); leave admins out of the file to keep it, or add --force/);
    assert.deepEqual(prepareApply([cc({ admins: ['labadmin'] })], [cc({ admins: ['root'] })], { force: true }).problems, []);
    // adding is fine; a new cluster (nothing stored) takes the file as it is
    assert.deepEqual(prepareApply([cc({ admins: ['root', 'x'] })], [cc({ admins: ['root'] })]).problems, []);
    assert.deepEqual((prepareApply([cc({ admins: ['x'] })], [undefined]).objects[0] as any).spec, { admins: ['x'] });
  });
  it('other kinds are replaced as written', () => {
    const n: any = { kind: 'Node', metadata: { name: 'n1' }, spec: { address: 'a' } };
    assert.equal(prepareApply([n], [{ ...n, spec: { address: 'b', sshPort: 2 } }]).objects[0], n);
    assert.equal(wouldDo(n, { ...n, spec: { address: 'b' } }), 'configured');
    assert.equal(wouldDo(n, n), 'unchanged');
    assert.equal(wouldDo(n, undefined), 'created');
  });
  it('--dry-run: bare is client; client, server, none; anything else refused', () => {
    assert.equal(parseDryRun(true), 'client');
    assert.equal(parseDryRun(undefined), 'none');
    assert.equal(parseDryRun('server'), 'server');
    assert.throws(() => parseDryRun('yes'), /--dry-run=yes: give client/);
  });
});

describe('kiwictl label and annotate (kubectl syntax)', () => {
  it('parses KEY=VALUE and KEY-, refusing bad keys and values', () => {
    assert.deepEqual(parseMetaChanges(['a=1', 'b-', 'kiwi.dev/x=y'], 'labels'), { set: { a: '1', 'kiwi.dev/x': 'y' }, remove: ['b'] });
    assert.throws(() => parseMetaChanges(['a'], 'labels'), /give KEY=VALUE to set, or KEY- to remove/);
    assert.throws(() => parseMetaChanges(['a=has space'], 'labels'), /not a valid label value/);
    assert.deepEqual(parseMetaChanges(['note=has space'], 'annotations').set, { note: 'has space' });
    assert.throws(() => parseMetaChanges(['a=1', 'a-'], 'labels'), /both set and removed|given twice/);
  });
  it('needs --overwrite to change a value; removing a missing key is a note, as kubectl says', () => {
    assert.throws(() => applyMetaChanges({ a: '1' }, { set: { a: '2' }, remove: [] }, false, 'labels'), /'a' already has a value \(1\), and --overwrite is false/);
    assert.deepEqual(applyMetaChanges({ a: '1' }, { set: { a: '2' }, remove: [] }, true, 'labels').next, { a: '2' });
    assert.deepEqual(applyMetaChanges({ a: '1' }, { set: { a: '1' }, remove: [] }, false, 'labels').next, { a: '1' });
    assert.deepEqual(applyMetaChanges({ a: '1' }, { set: {}, remove: ['a', 'b'] }, false, 'labels'), { next: {}, missing: ['label "b" not found.'] });
  });
});

describe('kiwictl delete node: the warning, kill -u: what it ends', () => {
  const b = (ns: string, name: string, phase: string, nodes: string[], extra: any = {}): any => ({ metadata: { name, namespace: ns }, spec: { user: ns, ...extra }, status: { phase, nodes, endTime: '2026-05-01T16:05:00Z' } });
  it('names the Active bookings a node deletion would end', () => {
    const bs = [b('alice', 'a1', 'Active', ['n1']), b('bob', 'b1', 'Pending', ['n1'])];
    assert.match(heldNodesWarning([{ kind: 'Node', name: 'n1' }], bs, new Date('2026-05-01T12:00:00Z'))!, /^node n1 is held by alice\/a1 \(alice, until \d\d:05\): deleting it ends that booking now \(reason NodeLost\)$/);
    assert.equal(heldNodesWarning([{ kind: 'Node', name: 'n2' }], bs, new Date()), undefined);
  });
  it('kill -u ends the user\'s Pending and Active bookings, not the Expired or already cancelled', () => {
    const bs = [b('bob', 'x', 'Active', []), b('bob', 'y', 'Pending', []), b('bob', 'z', 'Expired', []), b('bob', 'w', 'Active', [], { cancelled: true }), b('ann', 'v', 'Active', [])];
    assert.deepEqual(liveBookingsOf(bs, 'bob').map((x) => x.metadata.name), ['x', 'y']);
  });
});

describe('kiwictl history rows (sacct)', () => {
  const now = Date.parse('2026-05-10T12:00:00Z');
  const ev = (name: string, time: string, reason: string, message = ''): any => ({ time, kind: 'Booking', namespace: 'bob', name, type: 'Normal', reason, message, source: 'kiwi-operator' });
  it('stored bookings and deleted ones (from their events), in order of submission, within the period', () => {
    const stored: any = { metadata: { name: 'b2', namespace: 'bob', creationTimestamp: '2026-05-09T10:00:00Z' }, spec: { user: 'bob', nodes: ['n1'] }, status: { phase: 'Expired', reason: 'TimeLimit', nodes: ['n1'], startTime: '2026-05-09T10:00:01Z', endTime: '2026-05-09T11:00:01Z' } };
    const events = [
      ev('b1', '2026-05-08T09:00:00Z', 'Queued'),
      ev('b1', '2026-05-08T09:30:00Z', 'Started', 'started on n2, n3 until 2026-05-08T10:30:00Z'),
      ev('b1', '2026-05-08T10:00:00Z', 'Cancelled'),
      ev('old', '2026-03-01T09:00:00Z', 'Started', 'started on n1 until x'),
      ev('old', '2026-03-01T10:00:00Z', 'TimeLimit'),
    ];
    const rows = historyRows([stored], events, now - 30 * 86400_000, now);
    assert.deepEqual(rows.map((r) => [r.booking, r.state, r.nodes.join(','), r.elapsed, r.deleted]), [
      ['bob/b1', 'Cancelled', 'n2,n3', 1800, true],
      ['bob/b2', 'TimeLimit', 'n1', 3600, false],
    ]);
  });
  it('an Active booking counts its time up to now', () => {
    const b: any = { metadata: { name: 'a', namespace: 'bob', creationTimestamp: '2026-05-10T11:00:00Z' }, spec: { user: 'bob' }, status: { phase: 'Active', nodes: ['n1'], startTime: '2026-05-10T11:00:00Z', endTime: '2026-05-10T13:00:00Z' } };
    assert.equal(historyRows([b], [], 0, now)[0].elapsed, 3600);
  });
});

describe('kiwictl edit, man pages and fish completion', () => {
  it('edit compares what is left without comment lines', () => {
    assert.equal(stripComments('# head\n  # x\nkind: Node\n'), 'kind: Node');
  });
  const program = () => {
    const p = new Command('kiwictl').description('Book nodes.').option('--endpoints <urls>', 'etcd endpoints');
    p.command('get').description('Show objects').argument('<kind>').option('-o, --output <format>', 'table or json', 'table').addHelpText('after', examples('kiwictl get nodes'));
    p.command('kill').description('End bookings').option('-u, --user <user>', 'a user\'s');
    return p;
  };
  it('man pages come from the tree: one per verb, with its flags and the examples of its --help', () => {
    const pages = manPages(program(), '1.2.3', new Date('2026-05-01T00:00:00Z'));
    assert.deepEqual(pages.map((p) => p.name), ['kiwictl', 'kiwictl-get', 'kiwictl-kill']);
    const get = pages[1].text;
    assert.match(get, /^\.TH KIWICTL\\-GET 1 "2026-05-01" "kiwictl 1\.2\.3" "Kiwi"$/m);
    assert.match(get, /^\.B \\-o, \\-\\-output <format>$/m);
    assert.match(get, /table or json \(default: table\)/);
    assert.match(get, /^\.SH EXAMPLES\n\.nf\n  kiwictl get nodes/m);
    assert.match(pages[0].text, /^\.BR kiwictl\\-kill \(1\)$/m);
  });
  it('fish completion comes from the same tree', () => {
    const s = fishScript(treeOf(program()));
    assert.match(s, /^complete -c kiwictl -n "not __fish_seen_subcommand_from get kill" -a get -d 'Show objects'$/m);
    assert.match(s, /^complete -c kiwictl -n "__fish_seen_subcommand_from get" -s o -l output -r -a 'table wide yaml json name jsonpath= custom-columns=' -d 'table or json'$/m);
    assert.match(s, /^complete -c kiwictl -n "__fish_seen_subcommand_from kill" -s u -l user -r -a '\(__fish_complete_users\)'/m);
    assert.match(s, /kiwictl get nodes -o name -A/);
  });
});

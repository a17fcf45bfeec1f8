// The pure decisions of the booking verbs: flags to a Booking, what alloc says, extend's new
// length, wait's conditions, info's rows, run's ssh command line, drain's progress, completion.
import assert from 'node:assert/strict';
import { Command } from 'commander';
import type { Booking, Node } from '../../../crds/api/index.js';
import { InvalidError } from '../../../crds/api/errors.js';
import { allocRequest, bookingFor, parseEqualitySelector } from '../../../kiwictl/src/cmd/alloc/spec.js';
import { randomName } from '../../../crds/api/keys.js';
import { allocReport, answered, loginCommands, statusLine, waitingFor } from '../../../kiwictl/src/cmd/alloc/report.js';
import { parseExtend } from '../../../kiwictl/src/cmd/extend/plan.js';
import { planExtend } from '../../../crds/api/extend.js';
import { evaluate, parseFor } from '../../../kiwictl/src/cmd/wait/condition.js';
import { infoRows, formatLabels } from '../../../kiwictl/src/cmd/info/rows.js';
import { infoTable } from '../../../kiwictl/src/cmd/info/index.js';
import { sshArgs, splitWords } from '../../../kiwictl/src/cmd/run/ssh.js';
import { drainProgress } from '../../../kiwictl/src/cmd/drain/index.js';
import { holdersOf } from '../../../kiwictl/src/cmd/kill/index.js';
import { mergeConfig } from '../../../kiwictl/src/cmd/import-kiwi/index.js';
import { defaultSpec } from '../../../kiwictl/src/cmd/init/index.js';
import { nodeFor } from '../../../kiwictl/src/cmd/add-node/index.js';
import { bashScript, treeOf, zshScript } from '../../../kiwictl/src/cmd/completion/script.js';
import { validateObject } from '../../../crds/api/validate.js';
import { RefusedError } from '../../../kiwictl/src/errors.js';

const NOW = Date.parse('2026-05-04T10:00:00Z');
const now = new Date(NOW);
const iso = (ms: number) => new Date(ms).toISOString();
const min = 60_000;

function bk(name: string, user: string, spec: Partial<Booking['spec']>, status?: Booking['status'], generation = 1): Booking {
  return { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: user, generation }, spec: { user, ...spec }, status } as Booking;
}
function node(name: string, spec: Node['spec'] = {}, status?: Node['status'], labels?: Record<string, string>): Node {
  return { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name, ...(labels ? { labels } : {}) }, spec, status };
}
const active = (name: string, user: string, nodes: string[], startMin: number, endMin: number) =>
  bk(name, user, { nodes, duration: (endMin - startMin) * 60 }, { phase: 'Active', nodes, startTime: iso(NOW + startMin * min), endTime: iso(NOW + endMin * min), observedGeneration: 1 });

describe('kiwictl booking verbs: pure decisions', () => {
  describe('alloc flags', () => {
    it('reads every duration form and times in the user\'s zone', () => {
      for (const [t, s] of [['90', 90], ['90s', 90], ['45m', 2700], ['2h30m', 9000], ['1:30:00', 5400], ['1-00:00:00', 86400]] as const)
        assert.equal(allocRequest({ nodelist: 'n1', time: t }, NOW).duration, s, t);
      const r = allocRequest({ nodelist: 'n1', start: 'tomorrow 09:00', time: '1h' }, NOW, 'Europe/Berlin');
      assert.equal(iso(r.start!), '2026-05-05T07:00:00.000Z');
      assert.equal(iso(allocRequest({ nodelist: 'n1', start: '14:00' }, NOW, 'UTC').start!), '2026-05-04T14:00:00.000Z');
    });

    it('refuses bad input with a usage error naming the flag', () => {
      const bad: [Parameters<typeof allocRequest>[0], RegExp][] = [
        [{ nodelist: 'n1', time: '-5' }, /negative/],
        [{ nodelist: 'n1', time: '0' }, /positive/],
        [{ time: '1h' }, /say which nodes/],
        [{ nodelist: 'n1', count: '2' }, /not both/],
        [{ count: '0' }, /--count 0/],
        [{ count: 'two' }, /--count two/],
        [{ nodelist: 'N_1' }, /"N_1" is not a node name/],
        [{ nodelist: 'n1,n1' }, /twice/],
        [{ nodelist: 'n1', user: 'Bad User' }, /not a user name/],
        [{ nodelist: 'n1', start: '2020-01-01T00:00:00Z' }, /in the past/],
        [{ nodelist: 'n1', time: '1h', end: '15:00' }, /not both/],
        [{ nodelist: 'n1', name: 'Bad' }, /--name Bad/],
        [{ nodelist: 'n1', account: 'Lab A' }, /--account Lab A: not an account name/],
      ];
      for (const [f, msg] of bad) assert.throws(() => allocRequest(f, NOW, 'UTC'), (e: any) => e instanceof InvalidError && msg.test(e.message), JSON.stringify(f));
    });

    it('a selector alone means one node; selectors are equality only', () => {
      const r = allocRequest({ selector: 'gpu=a100,rack==3' }, NOW);
      assert.deepEqual([r.count, r.selector], [1, { gpu: 'a100', rack: '3' }]);
      assert.throws(() => parseEqualitySelector('gpu!=a100'), /only equality/);
      assert.throws(() => parseEqualitySelector(''), /at least one/);
    });

    it('builds a valid Booking in the user\'s namespace; random names are bk-<5>', () => {
      const b = bookingFor(allocRequest({ count: '2', selector: 'gpu=a100', time: '2h', queue: false }, NOW), 'alice', randomName());
      assert.match(b.metadata.name!, /^bk-[a-z0-9]{5}$/);
      assert.deepEqual(b.spec, { user: 'alice', count: 2, nodeSelector: { gpu: 'a100' }, duration: 7200, queue: false });
      assert.equal(bookingFor(allocRequest({ nodelist: 'n1', account: 'smith-lab' }, NOW), 'alice', 'b').spec.account, 'smith-lab');
      assert.equal(b.metadata.namespace, 'alice');
      validateObject(b, 'test');
      assert.equal(randomName(Buffer.from([0, 1, 35, 36, 255])), 'bk-ab9ad');
    });
  });

  describe('what alloc says', () => {
    const nodes = new Map([['n1', node('n1', { address: '10.0.0.1', sshPort: 2222 })], ['n2', node('n2', { address: 'n2.lab' })]]);

    it('Active: how to log in to each node', () => {
      const r = allocReport(active('bk-1', 'alice', ['n1', 'n2'], 0, 90), nodes, now);
      assert.equal(r.refused, undefined);
      assert.match(r.text, /^booking alice\/bk-1 is Active on n1, n2 until \S+ \(1h30m left\)\nlog in with:\n  ssh alice@10\.0\.0\.1 -p 2222\n  ssh alice@n2\.lab\n/);
      assert.deepEqual(loginCommands(active('x', 'bob', ['n9'], 0, 1), new Map()), ['ssh bob@n9']);
    });

    it('Pending: where it waits in line, after whom, until when', () => {
      const b = bk('bk-2', 'bob', { nodes: ['n1'] }, {
        phase: 'Pending', reason: 'Queued', nodes: ['n1'], startTime: iso(NOW + 25 * min), endTime: iso(NOW + 85 * min), observedGeneration: 1,
        waitingFor: [{ node: 'n1', booking: 'alice/bk-1', user: 'alice', until: iso(NOW + 25 * min) }],
      });
      const r = allocReport(b, nodes, now);
      assert.match(r.text, /waits in line: planned start \S+ \(in 25m\), until \S+, on n1\n  after alice\/bk-1 \(alice\) on n1 until \S+\nwait for it with: kiwictl wait bk-2 --for=phase=Active/);
      assert.match(statusLine(b, now), /^bob\/bk-2: Pending, starts \S+ \(in 25m\), after alice\/bk-1 \(alice\) on n1/);
      const many = { ...b, status: { ...b.status!, waitingFor: Array.from({ length: 5 }, (_, i) => ({ node: `n${i}`, booking: `x/b${i}` })) } };
      assert.match(waitingFor(many, now), /x\/b2 on n2 and 2 more$/);
    });

    it('Pending without a slot, a reservation, Rejected and Busy', () => {
      const waits = bk('b', 'u', { nodes: ['n1'] }, { phase: 'Pending', reason: 'Queued', message: 'waits: node n1 is cordoned (spec.unschedulable)', observedGeneration: 1 });
      assert.match(allocReport(waits, nodes, now).text, /no planned start yet: node n1 is cordoned/);
      const res = bk('r', 'u', { nodes: ['n1'], start: iso(NOW + 120 * min) }, { phase: 'Pending', reason: 'Scheduled', nodes: ['n1'], startTime: iso(NOW + 120 * min), endTime: iso(NOW + 150 * min), observedGeneration: 1 });
      assert.match(allocReport(res, nodes, now).text, /is reserved: n1 from \S+ \(in 2h\) until/);
      const busy = bk('b', 'u', { nodes: ['n1'], queue: false }, { phase: 'Expired', reason: 'Busy', message: 'cannot start now', observedGeneration: 1 });
      assert.equal(allocReport(busy, nodes, now).refused, 'booking u/b was refused (Busy): cannot start now');
      assert.match(allocReport(bk('b', 'u', { nodes: ['n1'] }), nodes, now).text, /not planned it yet \(is kiwi-operator running\?\)/);
    });

    it('answered: a status for the current generation', () => {
      assert.equal(answered(undefined), false);
      assert.equal(answered(bk('b', 'u', {}, { phase: 'Active', observedGeneration: 1 }, 2)), false);
      assert.equal(answered(bk('b', 'u', {}, { phase: 'Active', observedGeneration: 2 }, 2)), true);
    });
  });

  describe('extend -t', () => {
    it('parses +D, -D and a new total; refuses nonsense', () => {
      assert.deepEqual(parseExtend('+30m'), { kind: 'delta', seconds: 1800 });
      assert.deepEqual(parseExtend('-15m'), { kind: 'delta', seconds: -900 });
      assert.deepEqual(parseExtend('3h'), { kind: 'total', seconds: 10800 });
      assert.deepEqual(parseExtend('+1:00:00'), { kind: 'delta', seconds: 3600 });
      for (const t of ['', '+', '+-5m', 'soon', '--5m']) assert.throws(() => parseExtend(t), InvalidError, t);
    });

    it('works from what is in force (the held slot), not a refused spec', () => {
      const b = active('bk', 'a', ['n1'], -10, 50); // held 60m; the spec says otherwise after a refusal
      b.spec.duration = 99999;
      assert.deepEqual(planExtend(b, parseExtend('+30m'), NOW, 3600), { patch: { duration: 5400 }, oldEnd: NOW + 50 * min, newEnd: NOW + 80 * min });
      assert.equal(planExtend(b, parseExtend('-15m'), NOW, 3600).patch.duration, 2700);
      assert.equal(planExtend(b, parseExtend('3h'), NOW, 3600).patch.duration, 10800);
    });

    it('adds to a change the operator has not answered yet, so that concurrent extends add up', () => {
      const b = active('bk', 'a', ['n1'], -10, 50); // held 60m
      b.spec.duration = 4200; // another extend +10m a moment ago: generation 2, not yet observed
      b.metadata.generation = 2;
      assert.deepEqual(planExtend(b, parseExtend('+10m'), NOW, 3600), { patch: { duration: 4800 }, oldEnd: NOW + 60 * min, newEnd: NOW + 70 * min });
      b.spec.end = iso(NOW + 60 * min);
      delete b.spec.duration;
      assert.deepEqual(planExtend(b, parseExtend('+10m'), NOW, 3600).patch, { end: iso(NOW + 70 * min).replace('.000Z', 'Z') });
    });

    it('a Pending booking without a slot uses the spec, or the default duration', () => {
      assert.equal(planExtend(bk('b', 'u', { nodes: ['n1'], duration: 600 }, { phase: 'Pending' }), parseExtend('+5m'), NOW, 3600).patch.duration, 900);
      assert.equal(planExtend(bk('b', 'u', { nodes: ['n1'] }, { phase: 'Pending' }), parseExtend('+5m'), NOW, 3600).patch.duration, 3900);
    });

    it('a booking with a fixed end changes spec.end', () => {
      const b = active('bk', 'a', ['n1'], -10, 50);
      delete b.spec.duration;
      b.spec.end = iso(NOW + 50 * min);
      assert.deepEqual(planExtend(b, parseExtend('+30m'), NOW, 3600).patch, { end: '2026-05-04T11:20:00Z' });
      assert.deepEqual(planExtend(b, parseExtend('2h'), NOW, 3600).patch, { end: '2026-05-04T11:50:00Z' });
    });

    it('refuses Expired (RefusedError), and a change that leaves no time or ends in the past', () => {
      const exp = bk('b', 'u', { nodes: ['n1'] }, { phase: 'Expired', reason: 'TimeLimit' });
      assert.throws(() => planExtend(exp, parseExtend('+5m'), NOW, 3600), (e: any) => e instanceof RefusedError && e.exitCode === 9 && /already ended \(TimeLimit\)/.test(e.message));
      const b = active('bk', 'a', ['n1'], -10, 50);
      assert.throws(() => planExtend(b, parseExtend('-1h'), NOW, 3600), /leaves no time; to end it now use kiwictl kill bk/);
      assert.throws(() => planExtend(b, parseExtend('-55m'), NOW, 3600), /would end it in the past/);
      assert.throws(() => planExtend(b, parseExtend('5m'), NOW, 3600), /would end it in the past/);
    });
  });

  describe('wait --for', () => {
    it('parses phases, conditions and delete; refuses the rest', () => {
      assert.deepEqual(parseFor('phase=active'), { kind: 'phase', phase: 'Active' });
      assert.deepEqual(parseFor('condition=ExtendRefused'), { kind: 'condition', type: 'ExtendRefused', status: 'True' });
      assert.deepEqual(parseFor('condition=ExtendRefused=false'), { kind: 'condition', type: 'ExtendRefused', status: 'False' });
      assert.deepEqual(parseFor('delete'), { kind: 'delete' });
      for (const t of ['', 'phase=Running', 'phase', 'ready', 'condition=', 'jsonpath={.x}']) assert.throws(() => parseFor(t), InvalidError, t);
    });

    it('met, not yet, or never (phases only go forward)', () => {
      const pending = bk('b', 'u', {}, { phase: 'Pending' });
      const expired = bk('b', 'u', {}, { phase: 'Expired', reason: 'Cancelled' });
      assert.deepEqual(evaluate(parseFor('phase=Active'), pending), { met: false });
      assert.deepEqual(evaluate(parseFor('phase=Active'), active('b', 'u', ['n'], 0, 1)), { met: true });
      assert.match((evaluate(parseFor('phase=Active'), expired) as any).never, /Expired \(Cancelled\), and a booking never goes back to Active/);
      assert.match((evaluate(parseFor('phase=Pending'), undefined) as any).never, /deleted/);
      assert.deepEqual(evaluate(parseFor('delete'), undefined), { met: true });
      assert.deepEqual(evaluate(parseFor('phase=Active'), bk('b', 'u', {})), { met: false });
      const refused = bk('b', 'u', {}, { phase: 'Active', conditions: [{ type: 'ExtendRefused', status: 'True' }] });
      assert.deepEqual(evaluate(parseFor('condition=ExtendRefused'), refused), { met: true });
      assert.ok((evaluate(parseFor('condition=ExtendRefused'), expired) as any).never);
    });
  });

  describe('info rows', () => {
    it('one row per node, sorted n2 before n10, with holder, times, waiting and state', () => {
      const nodes = [
        node('n10', {}, undefined, { gpu: 'a100' }),
        node('n2', { unschedulable: true }),
        node('n1'),
        node('n3', {}, { phase: 'NotReady' }),
        node('n4', {}, { booking: { name: 'bk-d', namespace: 'dan', user: 'dan', since: iso(NOW - min), until: iso(NOW + 5 * min) } }),
        node('n5', { unschedulable: true }, { phase: 'Drained' }),
        node('n6', {}, { phase: 'Off' }),
        node('n7', {}, { phase: 'Resuming' }),
      ];
      const bookings = [
        active('bk-a', 'alice', ['n1', 'n10'], -30, 30),
        bk('bk-b', 'bob', { nodes: ['n1'] }, { phase: 'Pending', nodes: ['n1'], startTime: iso(NOW + 30 * min) }),
        bk('bk-old', 'bob', { nodes: ['n2'] }, { phase: 'Expired', nodes: ['n2'] }),
      ];
      const rows = infoRows(nodes, bookings, now);
      assert.deepEqual(rows.map((r) => [r.node, r.state, r.user ?? '-', r.booking ?? '-', r.remainingSeconds ?? '-', r.waiting]), [
        ['n1', 'booked', 'alice', 'alice/bk-a', 1800, 1],
        ['n2', 'cordoned', '-', '-', '-', 0],
        ['n3', 'down', '-', '-', '-', 0],
        ['n4', 'booked', 'dan', 'dan/bk-d', 300, 0],
        ['n5', 'drained,cordoned', '-', '-', '-', 0],
        ['n6', 'off', '-', '-', '-', 0],
        ['n7', 'waking', '-', '-', '-', 0],
        ['n10', 'booked', 'alice', 'alice/bk-a', 1800, 0],
      ]);
      assert.equal(formatLabels(rows[7].labels), 'gpu=a100');
      const table = infoTable(rows, now).split('\n');
      assert.match(table[0], /^NODE\s+STATE\s+USER\s+BOOKING\s+SINCE\s+UNTIL\s+REMAINING\s+WAITING\s+LABELS$/);
      assert.match(table[1], /^n1\s+booked\s+alice\s+alice\/bk-a\s+\d\d:\d\d\s+\d\d:\d\d\s+30m\s+1\s+-$/);
    });

    it('holdersOf and drain progress', () => {
      const bs = [active('bk-a', 'alice', ['n1'], -5, 25), bk('p', 'bob', {}, { phase: 'Pending', nodes: ['n1'] })];
      assert.deepEqual(holdersOf(bs, 'n1').map((b) => b.metadata.name), ['bk-a']);
      const p = drainProgress(['n1', 'n2'], bs, now);
      assert.equal(p.busy, 1);
      assert.match(p.line, /^draining \(1 of 2 still held\) n1: alice\/bk-a until \d\d:\d\d; n2: free$/);
      assert.equal(drainProgress(['n2'], bs, now).busy, 0);
    });
  });

  describe('run: the ssh command line', () => {
    it('splits KIWI_SSH_OPTS as a shell would', () => {
      assert.deepEqual(splitWords(` -i '/k ey' -o "A=b c"  -o X=\\ y ''`), ['-i', '/k ey', '-o', 'A=b c', '-o', 'X= y', '']);
      assert.throws(() => splitWords("-o 'x"), /unmatched '/);
    });

    it('env options, -i, -o, port, user@address, then the command after --', () => {
      const n = node('n1', { address: '127.0.0.1', sshPort: 2200 });
      assert.deepEqual(sshArgs({ user: 'alice', node: n, nodeName: 'n1', command: ['echo', 'hi'], tty: true, env: '-F /dev/null', identity: '/k', options: ['StrictHostKeyChecking=no'] }), [
        '-F', '/dev/null', '-i', '/k', '-o', 'StrictHostKeyChecking=no', '-p', '2200', 'alice@127.0.0.1', '--', 'echo', 'hi',
      ]);
      assert.deepEqual(sshArgs({ user: 'bob', node: undefined, nodeName: 'n9', command: [], tty: true }), ['-t', 'bob@n9']);
      assert.deepEqual(sshArgs({ user: 'bob', node: node('n9', { sshPort: 22 }), nodeName: 'n9', command: [], tty: false }), ['bob@n9']);
    });
  });

  describe('admin verbs', () => {
    it('init writes every default out, and it is valid', () => {
      const s = defaultSpec();
      assert.equal(s.defaultDuration, 3600);
      assert.equal(s.maxDuration, 7 * 86400);
      validateObject({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: s }, 'test');
    });

    it('add-node: port and labels checked', () => {
      assert.deepEqual(nodeFor('n1', { host: 'h', port: '2222', label: ['gpu=a100', 'rack=3'] }).metadata.labels, { gpu: 'a100', rack: '3' });
      assert.throws(() => nodeFor('n1', { host: 'h', port: '0' }), /--port 0/);
      assert.throws(() => nodeFor('n1', { host: 'h', label: ['x'] }), /KEY=VALUE/);
    });

    it('import-kiwi keeps the existing ClusterConfig and adds the bypass users', () => {
      const imported = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: { sshBypassUsers: ['b', 'c'] } } as const;
      const cur = { ...imported, spec: { sshBypassUsers: ['a', 'b'], maxDuration: 100 } };
      assert.deepEqual(mergeConfig(imported as any, cur as any).spec, { sshBypassUsers: ['a', 'b', 'c'], maxDuration: 100 });
      assert.equal(mergeConfig(imported as any, undefined), imported);
    });
  });

  describe('completion', () => {
    const program = new Command('kiwictl').option('--endpoints <urls>');
    program.command('alloc').option('-w, --nodelist <nodes>').option('--wait');
    program.command('get').argument('<kind>').option('-o, --output <format>');
    const dev = program.command('dev');
    dev.command('up');
    dev.command('down');

    it('the tree comes from commander', () => {
      const t = treeOf(program);
      assert.deepEqual(t.verbs.map((v) => v.name), ['alloc', 'get', 'dev']);
      assert.deepEqual(t.verbs[0].flags[0], { names: ['-w', '--nodelist'], description: '', takesValue: true, values: '@nodes' });
      assert.deepEqual(t.verbs[2].subverbs, ['up', 'down']);
      assert.equal(t.verbs[1].args, 'bookings bk nodes no clusterconfigs cc usagerecords ur pools pl accounts acct');
    });

    it('bash and zsh scripts name every verb and flag', () => {
      const b = bashScript(treeOf(program));
      assert.match(b, /local verbs='alloc get dev'/);
      assert.match(b, /-w\|--nodelist\) __kiwictl_names nodes ;;/);
      assert.match(b, /complete -o default -F _kiwictl kiwictl\n$/);
      assert.match(zshScript(treeOf(program)), /^#compdef kiwictl\n[\s\S]*bashcompinit[\s\S]*complete -o default -F _kiwictl kiwictl/);
    });
  });
});

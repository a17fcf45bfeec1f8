// kubectl's output conventions in kiwictl, pure: -o jsonpath (client-go's semantics),
// custom-columns, --sort-by, --field-selector, strict JSON input, time left rounded up, the
// status line that counts down, node holders in `get nodes`, and the staleness hint.
import assert from 'node:assert/strict';
import { executeJsonPath, parseJsonPath } from '../../../kiwictl/src/printers/jsonpath.js';
import { parseCustomColumns, customColumnsFile, sortBy } from '../../../kiwictl/src/printers/custom-columns.js';
import { parseOutput, printObjects } from '../../../kiwictl/src/printers/index.js';
import { renderTable, tableRows } from '../../../kiwictl/src/printers/table.js';
import { shortRemaining } from '../../../kiwictl/src/printers/format.js';
import { matchesFields, parseFieldSelector } from '../../../kiwictl/src/cmd/field-selector.js';
import { locateJsonError, parseStrictJson, isJsonInput } from '../../../kiwictl/src/cmd/json.js';
import { stalenessHint } from '../../../kiwictl/src/client/staleness.js';
import { StatusLine, type Ticker } from '../../../kiwictl/src/cmd/bookings.js';
import { statusLine } from '../../../kiwictl/src/cmd/alloc/report.js';
import { nodeHolders } from '../../../kiwictl/src/cmd/info/rows.js';
import { kindInfo } from '../../../crds/api/kinds.js';
import { refForArg } from '../../../kiwictl/src/cmd/resource.js';

const list = {
  kind: 'List',
  items: [
    { metadata: { name: 'b1', namespace: 'alice', labels: { team: 'x' }, annotations: { 'kiwi.dev/drain': 'why' } }, spec: { nodes: ['n1', 'n2'], duration: 3600 }, status: { phase: 'Active', startTime: '2026-05-01T10:00:00Z' } },
    { metadata: { name: 'b10', namespace: 'bob' }, spec: { count: 2 }, status: { phase: 'Pending', startTime: '2026-05-01T09:00:00Z' } },
    { metadata: { name: 'b2', namespace: 'alice' }, spec: { nodes: ['n3'], duration: 60 } },
  ],
};
const jp = (t: string, data: unknown = list) => executeJsonPath(parseJsonPath(t), data);

describe('kiwictl -o jsonpath (client-go semantics)', () => {
  it('prints text, fields, wildcards joined by spaces, and quoted text', () => {
    assert.equal(jp('{.kind}'), 'List');
    assert.equal(jp('kind is {.kind}'), 'kind is List');
    assert.equal(jp('{.items[*].metadata.name}'), 'b1 b10 b2');
    assert.equal(jp('{"{"}'), '{');
  });
  it('ranges, with newlines from a quoted "\\n"', () => {
    assert.equal(jp('{range .items[*]}{.metadata.name}:{.status.phase}{"\\n"}{end}'), 'b1:Active\nb10:Pending\nb2:\n');
  });
  it('indexes, negative indexes and slices; out of bounds is an error, as in kubectl', () => {
    assert.equal(jp('{.items[0].metadata.name}'), 'b1');
    assert.equal(jp('{.items[-1].metadata.name}'), 'b2');
    assert.equal(jp('{.items[0:2].metadata.name}'), 'b1 b10');
    assert.equal(jp('{.items[::2].metadata.name}'), 'b1 b2');
    assert.throws(() => jp('{.items[5]}'), /array index out of bounds: index 5, length 3/);
  });
  it('filters with ==, !=, <, and existence', () => {
    assert.equal(jp('{.items[?(@.status.phase=="Active")].metadata.name}'), 'b1');
    assert.equal(jp('{.items[?(@.status.phase!="Active")].metadata.name}'), 'b10');
    assert.equal(jp('{.items[?(@.spec.duration < 100)].metadata.name}'), 'b2');
    assert.equal(jp('{.items[?(@.spec.count)].metadata.name}'), 'b10');
  });
  it('recursive descent, unions, escaped dots in keys, missing keys give nothing', () => {
    assert.equal(jp('{..namespace}'), 'alice bob alice');
    assert.equal(jp("{.items[0]['metadata.name','status.phase']}"), 'b1 Active');
    assert.equal(jp('{.items[0].metadata.annotations.kiwi\\.dev/drain}'), 'why');
    assert.equal(jp('{.items[0].nothing.here}'), '');
  });
  it('prints maps and lists as JSON', () => {
    assert.equal(jp('{.items[0].metadata.labels}'), '{"team":"x"}');
    assert.equal(jp('{.items[0].spec.nodes}'), '["n1","n2"]');
  });
  it('refuses malformed templates with the template named (exit 2)', () => {
    assert.throws(() => parseJsonPath('{.items'), (e: any) => e.exitCode === 2 && /unclosed action/.test(e.message));
    assert.throws(() => parseJsonPath('{range .items[*]}{.x}'), /without its \{end\}/);
    assert.throws(() => parseJsonPath('{end}'), /not in range/);
    assert.throws(() => parseOutput('jsonpath='), /give a template/);
  });
  it('-o jsonpath on one object named runs on the object, on a list on the List', async () => {
    const k = kindInfo('Booking');
    const o = parseOutput('jsonpath={.metadata.name}');
    assert.equal(await printObjects([list.items[0]], { ...o, kind: k, single: true }), 'b1');
    assert.equal(await printObjects(list.items, { ...o, kind: k }), '');
    assert.equal(await printObjects(list.items, { ...parseOutput('jsonpath={.items[*].metadata.name}'), kind: k }), 'b1 b10 b2');
  });
});

describe('kiwictl -o custom-columns and --sort-by', () => {
  it('columns by HEADER:PATH; a missing value reads <none>, several are joined by commas', () => {
    const cols = parseCustomColumns('NAME:.metadata.name,NODES:.spec.nodes[*],PHASE:{.status.phase}');
    assert.equal(renderTable(cols.map((c) => c.header), tableRows(cols, list.items, new Date())), ['NAME   NODES    PHASE', 'b1     n1,n2    Active', 'b10    <none>   Pending', 'b2     n3       <none>', ''].join('\n'));
  });
  it('refuses a column without a path, and reads the two-line file form', () => {
    assert.throws(() => parseCustomColumns('NAME'), /is not HEADER:PATH/);
    const cols = customColumnsFile('NAME   PHASE\n.metadata.name   .status.phase\n');
    assert.deepEqual(cols.map((c) => c.value(list.items[1], new Date())), ['b10', 'Pending']);
    assert.throws(() => customColumnsFile('A B\n.a\n'), /2 headers but 1 paths/);
  });
  it('sorts in natural order (b2 before b10), missing values first, stable', () => {
    assert.deepEqual(sortBy(list.items, '.metadata.name').map((o) => o.metadata.name), ['b1', 'b2', 'b10']);
    assert.deepEqual(sortBy(list.items, '{.status.startTime}').map((o) => o.metadata.name), ['b2', 'b10', 'b1']);
    assert.deepEqual(sortBy(list.items, 'spec.duration').map((o) => o.metadata.name), ['b10', 'b2', 'b1']);
    assert.throws(() => sortBy(list.items, '.spec.nodes'), /a list, which cannot be sorted/);
  });
});

describe('kiwictl --field-selector (apimachinery pkg/fields)', () => {
  const k = kindInfo('Booking');
  it('takes =, == and !=, comma-separated, all of which must hold', () => {
    const sel = parseFieldSelector('status.phase!=Expired,metadata.namespace==alice', k);
    assert.deepEqual(list.items.filter((o) => matchesFields(sel, o)).map((o) => o.metadata.name), ['b1', 'b2']);
    assert.deepEqual(list.items.filter((o) => matchesFields(parseFieldSelector('metadata.name=b10', k), o)).map((o) => o.metadata.name), ['b10']);
    // an absent field is "": status.phase= matches the booking with no status yet
    assert.deepEqual(list.items.filter((o) => matchesFields(parseFieldSelector('status.phase=', k), o)).map((o) => o.metadata.name), ['b2']);
  });
  it('refuses an unknown field as the apiserver does, and a term without an operator', () => {
    assert.throws(() => parseFieldSelector('spec.foo=1', k), /field label not supported: spec\.foo/);
    assert.throws(() => parseFieldSelector('status.phase', k), /invalid selector: 'status\.phase'/);
  });
  it('unescapes \\, in values', () => {
    assert.deepEqual(parseFieldSelector('metadata.name=a\\,b', k), [{ field: 'metadata.name', op: '=', value: 'a,b' }]);
  });
});

describe('kiwictl strict JSON input', () => {
  it('reads .json files and text starting with { as JSON', () => {
    assert.ok(isJsonInput('x.json', 'kind: Node'));
    assert.ok(isJsonInput('-', '  {"kind": "Node"}'));
    assert.ok(!isJsonInput('x.yaml', 'kind: Node'));
  });
  it('refuses a trailing comma with the line, column and Go\'s wording', () => {
    const r = parseStrictJson('{\n  "kind": "Node",\n}\n');
    assert.ok('problem' in r);
    assert.deepEqual(r.problem, { line: 3, column: 1, message: "invalid character '}' looking for beginning of object key string (a trailing comma before it: JSON allows none)" });
    assert.match(locateJsonError('{"a": [1, 2,]}').message, /invalid character '\]' looking for beginning of value \(a trailing comma/);
    assert.equal(locateJsonError('{"a": 1').message, 'unexpected end of JSON input');
    assert.match(locateJsonError("{'a': 1}").message, /JSON strings take double quotes/);
    assert.match(locateJsonError('{"a": tru}').message, /in literal true/);
    assert.match(locateJsonError('{} x').message, /after top-level value/);
  });
});

describe('kiwictl time left and the live status line', () => {
  it('rounds time left up to the unit shown', () => {
    assert.equal(shortRemaining(120), '2m');
    assert.equal(shortRemaining(119.4), '2m');
    assert.equal(shortRemaining(61), '2m');
    assert.equal(shortRemaining(59.2), '1m');
    assert.equal(shortRemaining(58.5), '59s');
    assert.equal(shortRemaining(3600), '1h');
    assert.equal(shortRemaining(3599), '1h');
    assert.equal(shortRemaining(7201), '2h1m');
    assert.equal(shortRemaining(0), '0s');
    assert.equal(shortRemaining(-5), '0s');
  });
  it('`-t 2m` shows "2m left" at once', () => {
    const now = new Date('2026-05-01T10:00:00.300Z');
    const b: any = { metadata: { name: 'x', namespace: 'a' }, spec: {}, status: { phase: 'Active', nodes: ['n1'], startTime: '2026-05-01T10:00:00Z', endTime: '2026-05-01T10:02:00Z' } };
    assert.match(statusLine(b, now), /\(2m left\)/);
  });
  it('counts down every second on a terminal while nothing changes', () => {
    let tick: (() => void) | undefined;
    let stopped = false;
    const ticker: Ticker = { every: (_ms, fn) => ((tick = fn), () => (stopped = true)) };
    const out: string[] = [];
    let now = Date.parse('2026-05-01T10:00:00Z');
    const b: any = { metadata: { name: 'x', namespace: 'a' }, spec: {}, status: { phase: 'Pending', nodes: ['n1'], startTime: '2026-05-01T10:00:25Z' } };
    const line = new StatusLine((s) => out.push(s), true, ticker);
    line.follow(() => statusLine(b, new Date(now)));
    for (let i = 0; i < 2; i++) {
      now += 1000;
      tick!();
    }
    assert.deepEqual(out.map((s) => /in (\d+s)/.exec(s)?.[1]), ['25s', '24s', '23s']);
    assert.ok(out.every((s) => s.startsWith('\r\x1b[K')));
    line.done();
    assert.ok(stopped);
  });
  it('off a terminal prints a line per change, no ticking', () => {
    let ticked = false;
    const line = new StatusLine(() => undefined, false, { every: () => ((ticked = true), () => undefined) });
    line.follow(() => 'x');
    assert.equal(ticked, false);
  });
});

describe('kiwictl get nodes: who holds a node', () => {
  const node = (name: string, status?: any): any => ({ metadata: { name }, spec: {}, ...(status ? { status } : {}) });
  it('takes the Active bookings first, else the daemon\'s report', () => {
    const b: any = { metadata: { name: 'bk-2', namespace: 'bob' }, spec: { user: 'bob' }, status: { phase: 'Active', nodes: ['n1'], endTime: '2026-05-01T14:05:00Z' } };
    const h = nodeHolders([node('n1'), node('n2', { booking: { user: 'carol', namespace: 'carol', name: 'bk-9' } }), node('n3')], [b]);
    assert.deepEqual(h.get('n1'), { user: 'bob', booking: 'bob/bk-2', since: undefined, until: '2026-05-01T14:05:00Z' });
    assert.equal(h.get('n2')?.booking, 'carol/bk-9');
    assert.equal(h.has('n3'), false);
  });
  it('the table shows USER and BOOKING from them, and NoDaemon for a node that never reported', async () => {
    const b: any = { metadata: { name: 'bk-2', namespace: 'bob' }, spec: { user: 'bob' }, status: { phase: 'Active', nodes: ['n1'], endTime: '2026-05-01T14:05:00Z' } };
    const nodes = [node('n1', { phase: 'Ready' }), node('n2')];
    const text = await printObjects(nodes, { format: 'table', kind: kindInfo('Node'), table: { holders: nodeHolders(nodes, [b]) }, now: new Date('2026-05-01T12:00:00Z') });
    const lines = text.split('\n');
    assert.match(lines[0], /^NAME\s+STATUS\s+USER\s+BOOKING\s+UNTIL$/);
    assert.match(lines[1], /^n1\s+Ready\s+bob\s+bk-2\s+\d\d:05$/);
    assert.match(lines[2], /^n2\s+NoDaemon\s+-\s+-\s+-$/);
  });
});

describe('kiwictl NAMESPACE/NAME for get and describe', () => {
  it('splits NAMESPACE/NAME for bookings; refuses it for nodes and against a different -n', () => {
    assert.deepEqual(refForArg(kindInfo('Booking'), 'alice/bk-1', 'me'), { kind: 'Booking', name: 'bk-1', namespace: 'alice' });
    assert.deepEqual(refForArg(kindInfo('Booking'), 'bk-1', 'me'), { kind: 'Booking', name: 'bk-1', namespace: 'me' });
    assert.throws(() => refForArg(kindInfo('Node'), 'a/b', undefined), /nodes have no namespace/);
    assert.throws(() => refForArg(kindInfo('Booking'), 'alice/bk-1', 'bob', 'bob'), /-n says bob/);
  });
});

describe('kiwictl staleness hint (the election key)', () => {
  const now = Date.parse('2026-05-01T10:00:00Z');
  it('warns when nobody holds the election key', () => {
    assert.match(stalenessHint({}, now)!, /no kiwi-operator is leading \(nobody holds \/kiwi\/election\/operator\)/);
  });
  it('is quiet while a leader holds it under its lease', () => {
    assert.equal(stalenessHint({ value: JSON.stringify({ id: 'op1', since: '2026-04-01T00:00:00Z' }) }, now), undefined);
  });
  it('warns when a refreshed leader record is older than its lease', () => {
    const v = (ago: number) => JSON.stringify({ id: 'op1', renewTime: new Date(now - ago * 1000).toISOString(), leaseTtlSeconds: 2 });
    assert.equal(stalenessHint({ value: v(1) }, now), undefined);
    assert.match(stalenessHint({ value: v(30) }, now)!, /\(op1\) has not renewed its leadership for 30s \(its lease is 2s\)/);
  });
});

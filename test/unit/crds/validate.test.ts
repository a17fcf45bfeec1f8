import assert from 'node:assert/strict';
import { validateObject, MAX_OBJECT_BYTES } from '../../../crds/api/validate.js';
import { newAjv, ajvSchemaOf } from '../../../crds/gen/ajv.js';
import { KINDS } from '../../../crds/api/kinds.js';
import { parseDocuments } from '../../../crds/api/load.js';
import { InvalidError } from '../../../crds/api/errors.js';

const bk = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'kiwi.dev/v1alpha1',
  kind: 'Booking',
  metadata: { name: 'bk1', namespace: 'alice', ...meta },
  spec: { user: 'alice', nodes: ['n1'], ...spec },
});

function problems(obj: unknown): string {
  try {
    validateObject(obj, 'doc');
  } catch (e) {
    assert.ok(e instanceof InvalidError, String(e));
    return e.message;
  }
  assert.fail('expected the object to be refused');
}

describe('the CRD schemas themselves', () => {
  // The generated validators are compiled without the meta-schema check: it is here
  it('every kind\'s schema, as validation compiles it, is valid JSON Schema (meta-schema) in strict mode', () => {
    const ajv = newAjv(true);
    for (const k of KINDS) {
      assert.ok(ajv.validateSchema(ajvSchemaOf(k.crd)), `${k.kind}: ${ajv.errorsText(ajv.errors)}`);
      assert.doesNotThrow(() => ajv.compile(ajvSchemaOf(k.crd)), k.kind);
    }
  });
  it('the check finds what it looks for: a schema with a wrong type is refused', () => {
    assert.equal(newAjv(true).validateSchema({ type: 'object', properties: { a: { type: 'strnig' } } }), false);
  });
});

describe('validateObject', () => {
  it('normalizes: durations to seconds, defaults filled, times to UTC', () => {
    const o = validateObject(bk({ duration: '2h30m', start: '2030-01-01T15:00:00+01:00' }), 'doc') as any;
    assert.equal(o.spec.duration, 9000);
    assert.equal(o.spec.queue, true, 'default from the CRD');
    assert.equal(o.spec.start, '2030-01-01T14:00:00Z');
    const n = validateObject({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n1' }, spec: {} }, 'doc') as any;
    assert.equal(n.spec.sshPort, 22);
    const cc = validateObject({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: { maxDuration: '7d' } }, 'doc') as any;
    assert.equal(cc.spec.maxDuration, 604800);
    assert.equal(cc.spec.pamFailMode, 'closed');
  });

  it('does not change its input', () => {
    const input = bk({ duration: "90m" }) as { spec: Record<string, unknown> };
    validateObject(input, 'doc');
    assert.equal(input.spec.duration, '90m');
  });

  const refusals: [string, unknown, RegExp][] = [
    ['wrong apiVersion', { ...bk({}), apiVersion: 'v1' }, /apiVersion: must be "kiwi.dev\/v1alpha1"/],
    ['unknown kind', { ...bk({}), kind: 'Job' }, /kind: must be one of Booking, Node, ClusterConfig/],
    ['unknown spec field', bk({ colour: 'red' }), /spec\.colour: unknown field/],
    ['unknown metadata field', bk({}, { owner: 'x' }), /metadata\.owner: unknown field/],
    ['a spec.user other than the namespace', bk({ user: 'bob' }), /spec\.user: "bob" is not the booking's namespace "alice"; .*drop spec\.user, or write the booking in namespace "bob" \(-n bob; admins only\)/],
    ['a spec.user of the wrong type', bk({ user: 7 }), /spec\.user: must be a string/],
    ['count of wrong type', { ...bk({}), spec: { user: 'alice', count: 'two' } }, /spec\.count: must be an integer/],
    ['negative duration', bk({ duration: -5 }), /spec\.duration: .*positive/],
    ['negative duration text', bk({ duration: '-5' }), /spec\.duration: .*negative/],
    ['absurd duration', bk({ duration: '9999999h' }), /spec\.duration: .*longest/],
    ['invalid name', bk({}, { name: 'UPPER_case' }), /metadata\.name: "UPPER_case" is not a valid name/],
    ['both nodes and count', bk({ count: 2 }), /spec: give either nodes, or nodeSelector with count/],
    ['end before start', bk({ start: '2030-01-01T10:00:00Z', end: '2030-01-01T09:00:00Z' }), /spec\.end: .* is not after spec\.start/],
    ['bad date-time', bk({ start: 'tomorrow' }), /spec\.start: must be a date-time/],
    ['namespace on a Node', { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n1', namespace: 'x' } }, /metadata\.namespace: a Node is cluster-wide/],
    ['ClusterConfig not named default', { apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'other' } }, /must be named "default"/],
    ['bad enum', bk({ endSignal: { signal: 'SIGKILL' } }), /spec\.endSignal\.signal: must be one of/],
    ['bad label value', bk({}, { labels: { a: 'has space' } }), /metadata\.labels\.a: .* not a valid label value/],
    ['node name in list', bk({ nodes: ['Node_1'] }), /spec\.nodes\[0\]: does not match the pattern/],
    ['duplicate node', bk({ nodes: ['n1', 'n1'] }), /spec\.nodes: names a node twice/],
    ['not an object', 'hello', /must be an object/],
    ['a minUid below the floor of 500', { apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: { minUid: 1 } }, /spec\.minUid: must be at least 500/],
  ];
  for (const [what, obj, re] of refusals) it(`refuses ${what}`, () => assert.match(problems(obj), re));

  it('accepts a Booking without spec.user: its user is its namespace', () => {
    const o = validateObject({ ...bk({}), spec: { nodes: ['n1'] } }, 'doc') as any;
    assert.equal(o.spec.user, undefined);
  });

  it('lists every problem at once, each with its path', () => {
    const msg = problems({ ...bk({ colour: 'red', duration: 'soon' }, { name: 'Bad' }) });
    assert.match(msg, /spec\.colour/);
    assert.match(msg, /spec\.duration/);
    assert.match(msg, /metadata\.name/);
  });

  it('refuses objects over the size limit before anything else', () => {
    const big = bk({}, { annotations: { note: 'x'.repeat(MAX_OBJECT_BYTES) } });
    assert.match(problems(big), /larger than the 256 KiB Kiwi stores/);
  });
});

describe('parseDocuments', () => {
  it('reads multi-document YAML, skipping empty documents, and Lists', () => {
    const docs = parseDocuments('a: 1\n---\n---\nb: 2\n', 'f.yaml');
    assert.deepEqual(docs.map((d) => d.where), ['f.yaml document 1', 'f.yaml document 3']);
    const list = parseDocuments(JSON.stringify({ kind: 'List', items: [{ a: 1 }, { b: 2 }] }), 'l.json');
    assert.deepEqual(list.map((d) => d.where), ['l.json item 1', 'l.json item 2']);
  });
  it('keeps timestamps as strings (no implicit YAML types)', () => {
    const [d] = parseDocuments('start: 2030-01-01T10:00:00Z\nn: 007\nyes: no\n', 'f.yaml');
    assert.deepEqual(d.object, { start: '2030-01-01T10:00:00Z', n: 7, yes: 'no' });
  });
  it('names the line of malformed YAML', () => {
    assert.throws(() => parseDocuments('a: [1, 2\nb: 3\n', 'bad.yaml'), /bad\.yaml: malformed YAML at line \d+/);
    assert.throws(() => parseDocuments('a: 1\na: 2\n', 'dup.yaml'), /duplicated mapping key/);
  });
  it('refuses an empty input', () => assert.throws(() => parseDocuments('\n', 'empty.yaml'), /no objects found/));
});

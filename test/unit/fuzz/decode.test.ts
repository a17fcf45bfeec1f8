// decodeObject: every stored value is untrusted. Exact problems for the attacks the security
// issue lists, and a property: whatever bytes a key holds, decoding returns (never throws), and
// what it returns as an object is known by its key only, with etcd's uid.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeObject, entryUid, ENTRY_UID_PATTERN, isEntryUid, keys, type RawKv } from '../../../crds/api/index.js';
import { oddValue, mutationPath, mutate, validBooking, validNode } from './gen.js';

const BK = keys.spec({ kind: 'Booking', namespace: 'alice', name: 'bk-1' });
const kv = (key: string, value: unknown, create = 7, mod = 9, version = 3): RawKv => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value), modRevision: mod, createRevision: create, version });

describe('decodeObject: values read from etcd are untrusted', () => {
  it('a valid booking: identity from the key and etcd, not from the value', () => {
    const b = { ...validBooking(), metadata: { ...validBooking().metadata, uid: '.', resourceVersion: '1' } };
    const d = decodeObject('Booking', kv(BK, b, 42, 50));
    assert.ok(d.ok);
    assert.equal(d.object.metadata.uid, entryUid(BK, 42));
    assert.match(d.object.metadata.uid!, /^42-[0-9a-f]{16}$/);
    assert.equal(d.object.metadata.resourceVersion, '50');
    assert.equal(d.createRevision, 42);
  });

  it('generation is the spec key\'s version, whatever the value claims; a spec read without its version is a problem', () => {
    for (const claimed of [1, 99, -1, 'x', undefined]) {
      const b = { ...validBooking(), metadata: { ...validBooking().metadata, generation: claimed } };
      const d = decodeObject('Booking', kv(BK, b, 42, 50, 4));
      assert.ok(d.ok);
      assert.equal(d.object.metadata.generation, 4, String(claimed));
    }
    const d = decodeObject('Booking', { key: BK, value: JSON.stringify(validBooking()), modRevision: 3, createRevision: 2 });
    assert.ok(!d.ok && /read without its version, so its generation is unknown/.test(d.problem));
  });

  it('entry uids: strict, derived, distinct for keys created in one transaction and for a re-creation', () => {
    for (const bad of ['.', '..', '../x', 'a/b', '', 'A', '-a', 'x'.repeat(64), 'a b', 'a\n', 7, null]) assert.equal(isEntryUid(bad), false, String(bad));
    assert.ok(isEntryUid(entryUid(BK, 1)));
    assert.ok(ENTRY_UID_PATTERN.test(entryUid(BK, Number.MAX_SAFE_INTEGER)));
    const other = keys.spec({ kind: 'Booking', namespace: 'bob', name: 'bk-1' });
    assert.notEqual(entryUid(BK, 5), entryUid(other, 5), 'one txn creates both at revision 5');
    assert.notEqual(entryUid(BK, 5), entryUid(BK, 6), 'deleted and created again');
  });

  const cases: [string, string, unknown, RegExp][] = [
    ['not JSON', BK, 'not json{', /alice\/bk-1: is not JSON/],
    ['null', BK, 'null', /holds null, not a Booking object/],
    ['an array', BK, [1, 2], /holds an array/],
    ['a number', BK, '5', /holds a number/],
    ['deep nesting', BK, '['.repeat(200_000) + ']'.repeat(200_000), /is not JSON|holds an array/],
    ['a deep object', BK, JSON.stringify(validBooking()).replace(/"spec":\{/, '"spec":{"x":' + '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) + ','), /nests deeper than 64 levels/],
    ['another name than its key', BK, { ...validBooking(), metadata: { name: 'bk-2', namespace: 'alice' } }, /metadata\.name is "bk-2", but the key names "bk-1": refused/],
    ['another namespace than its key', BK, { ...validBooking(), metadata: { name: 'bk-1', namespace: 'bob' } }, /metadata\.namespace is "bob", but the key is in namespace "alice"/],
    ['another kind', BK, { ...validNode(), metadata: { name: 'bk-1', namespace: 'alice' } }, /kind is "Node", not Booking/],
    ['wrong apiVersion', BK, { ...validBooking(), apiVersion: 'v1' }, /apiVersion is "v1"/],
    ['labels not strings', BK, { ...validBooking(), metadata: { name: 'bk-1', namespace: 'alice', labels: { a: 1 } } }, /metadata\.labels is not a map of strings/],
    ['spec not an object', BK, { ...validBooking(), spec: [] }, /spec is not an object/],
    ['a name the key cannot hold', '/kiwi/spec/bookings/alice/..', validBooking(), /names no valid Booking/],
    ['a Node key read as a Booking', keys.spec({ kind: 'Node', name: 'n1' }), validNode(), /is not a Booking spec key/],
    ['a key too deep', '/kiwi/spec/bookings/alice/a/b', validBooking(), /is not a Booking spec key/],
  ];
  for (const [what, key, value, re] of cases)
    it(`refuses ${what}, naming the key`, () => {
      const d = decodeObject('Booking', kv(key, value));
      assert.equal(d.ok, false);
      if (!d.ok) {
        assert.match(d.problem, re);
        assert.ok(d.problem.startsWith(key), d.problem);
      }
    });

  it('a cluster-wide object must not claim a namespace', () => {
    const d = decodeObject('Node', kv(keys.spec({ kind: 'Node', name: 'n01' }), { ...validNode(), metadata: { name: 'n01', namespace: 'alice' } }));
    assert.ok(!d.ok && /metadata\.namespace is "alice", but a Node has none/.test(d.problem));
  });

  it('a status that does not parse is dropped with its own problem; its revision stays for the owner\'s compare-and-swap', () => {
    const sk = keys.status({ kind: 'Node', name: 'n01' });
    const d = decodeObject('Node', kv(keys.spec({ kind: 'Node', name: 'n01' }), validNode()), { key: sk, value: '\u0000garbage', modRevision: 77 });
    assert.ok(d.ok);
    assert.equal(d.object.status, undefined);
    assert.equal(d.statusRevision, 77);
    assert.match(d.statusProblem!.problem, /status\/nodes\/n01: is not JSON .*; the status is ignored/);
  });

  it('a status the schema refuses (or nested 50,000 deep) is dropped, the object kept', () => {
    const sk = keys.status({ kind: 'Node', name: 'n01' });
    const spec = kv(keys.spec({ kind: 'Node', name: 'n01' }), validNode());
    const check = (o: any) => (o.status?.a !== undefined ? 'does not fit the schema: status.a: unknown field' : '');
    let d = decodeObject('Node', spec, { key: sk, value: '{"a":1}', modRevision: 10 }, check);
    assert.ok(d.ok && d.object.status === undefined && /status\/nodes\/n01: does not fit the schema: status\.a: unknown field; the status is ignored/.test(d.statusProblem!.problem));
    d = decodeObject('Node', spec, { key: sk, value: '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000), modRevision: 10 });
    assert.ok(d.ok && d.object.status === undefined && /nests deeper than 64 levels; the status is ignored/.test(d.statusProblem!.problem));
  });

  it('a status older than its key\'s creation is an earlier object\'s: not joined, its revision kept for the writer\'s compare-and-swap', () => {
    const d = decodeObject('Node', kv(keys.spec({ kind: 'Node', name: 'n01' }), validNode(), 20), { key: keys.status({ kind: 'Node', name: 'n01' }), value: '{"phase":"Ready"}', modRevision: 12 });
    assert.ok(d.ok && d.object.status === undefined && d.statusRevision === 12);
  });

  it('the schema check, when given, refuses with its words', () => {
    const d = decodeObject('Booking', kv(BK, { ...validBooking(), spec: { nodes: {} } }), undefined, () => 'does not fit the schema: spec.nodes: must be an array');
    assert.ok(!d.ok && d.problem === `${BK}: does not fit the schema: spec.nodes: must be an array`);
  });

  it('property: any bytes under any Booking key decode without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), fc.string({ maxLength: 300 }), fc.jsonValue().map((v) => JSON.stringify(v))), (value) => {
        const d = decodeObject('Booking', { key: BK, value, modRevision: 3, createRevision: 2, version: 1 });
        if (d.ok) assert.equal(d.object.metadata.name, 'bk-1');
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a mutated booking either decodes as exactly its key with etcd\'s uid, or is a problem naming the key', () => {
    fc.assert(
      fc.property(mutationPath, oddValue, fc.constantFrom('set', 'delete'), (path, value, op) => {
        const obj = mutate(validBooking(), path, value, op as 'set' | 'delete');
        const text = JSON.stringify(obj);
        if (text === undefined) return;
        const d = decodeObject('Booking', kv(BK, text, 11));
        if (d.ok) {
          assert.equal(d.object.metadata.name, 'bk-1');
          assert.equal(d.object.metadata.namespace, 'alice');
          assert.equal(d.object.metadata.uid, entryUid(BK, 11));
        } else assert.ok(d.problem.startsWith(BK));
      }),
      { numRuns: 3000 },
    );
  });
});

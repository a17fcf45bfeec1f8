// Property tests of the validator: valid objects mutated anywhere (odd values, missing and
// extra fields, prototype keys), and whatever the loader makes of YAML-ish text, are either
// accepted or refused with an InvalidError, never anything else. Absurd sizes and counts are
// refused before anything could reach etcd.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateObject, MAX_OBJECT_BYTES } from '../../../crds/api/validate.js';
import { parseDocuments } from '../../../crds/api/load.js';
import { InvalidError } from '../../../crds/api/errors.js';
import { mutate, mutationPath, oddValue, timed, validBooking, validNode, yamlish } from './gen.js';

function validOrRefused(obj: unknown): void {
  const ms = timed(() => {
    try {
      const out = validateObject(obj, 'fuzz');
      assert.equal(typeof out, 'object');
    } catch (e) {
      if (!(e instanceof InvalidError)) throw new Error(`not an InvalidError for ${safe(obj)}: ${(e as Error)?.stack ?? e}`);
      assert.ok(e.problems.length > 0);
    }
  });
  assert.ok(ms < 500, `took ${ms} ms for ${safe(obj)}`);
}

const safe = (v: unknown) => {
  try {
    return JSON.stringify(v)?.slice(0, 300);
  } catch {
    return String(v);
  }
};

describe('fuzz: validateObject', function () {
  this.timeout(30_000);

  it('valid objects with 1-4 mutations: valid or InvalidError (3,000 runs)', () => {
    const mutation = fc.record({ path: mutationPath, value: oddValue, op: fc.constantFrom<'set' | 'delete'>('set', 'set', 'delete') });
    fc.assert(
      fc.property(fc.constantFrom(validBooking, validNode), fc.array(mutation, { minLength: 1, maxLength: 4 }), (make, ms) => {
        let obj: any = make();
        for (const m of ms) obj = mutate(obj, m.path, m.value, m.op);
        validOrRefused(obj);
      }),
      { numRuns: 3000 },
    );
  });

  it('anything (arbitrary JSON values, whatever YAML-ish text loads to): valid or InvalidError (2,000 runs)', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 4 }), validOrRefused), { numRuns: 1000 });
    fc.assert(
      fc.property(yamlish, (text) => {
        let docs;
        try {
          docs = parseDocuments(text, 'fuzz');
        } catch {
          return;
        }
        for (const d of docs) validOrRefused(d.object);
      }),
      { numRuns: 1000 },
    );
  });

  it('absurd counts and oversized objects are refused', () => {
    const b = validBooking() as any;
    delete b.spec.nodes;
    for (const count of [1001, 10_000, 1e9, Number.MAX_SAFE_INTEGER, -1, 0, 1.5])
      assert.throws(() => validateObject({ ...b, spec: { ...b.spec, count } }, 'count'), InvalidError, `count ${count}`);
    const many = Array.from({ length: 1001 }, (_, i) => `n${i}`);
    assert.throws(() => validateObject({ ...validBooking(), spec: { ...validBooking().spec, nodes: many } }, 'nodes'), /nodes/);
    const big = validNode() as any;
    big.metadata.annotations = { note: 'x'.repeat(MAX_OBJECT_BYTES) };
    assert.throws(() => validateObject(big, 'big'), /larger than/);
    assert.throws(() => validateObject({ ...validBooking(), spec: { ...validBooking().spec, duration: '400d' } }, 'long'), InvalidError);
  });
});

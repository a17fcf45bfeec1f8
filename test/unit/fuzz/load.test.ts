// Property tests of the YAML/JSON loader: any text either loads or is refused with an
// InvalidError (exit 2), never anything else, and always quickly.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDocuments } from '../../../crds/api/load.js';
import { InvalidError } from '../../../crds/api/errors.js';
import { anyText, timed } from './gen.js';

function loadOrRefuse(text: string): void {
  const ms = timed(() => {
    try {
      const docs = parseDocuments(text, 'fuzz');
      assert.ok(Array.isArray(docs) && docs.length > 0);
    } catch (e) {
      if (!(e instanceof InvalidError)) throw new Error(`not an InvalidError for ${JSON.stringify(text)}: ${(e as Error)?.stack ?? e}`);
      assert.match(e.message, /^fuzz/);
    }
  });
  assert.ok(ms < 500, `took ${ms} ms for ${JSON.stringify(text).slice(0, 200)}`);
}

describe('fuzz: parseDocuments', function () {
  this.timeout(30_000);

  it('arbitrary and YAML-ish text: loads or InvalidError, in bounded time (3,000 runs)', () => {
    fc.assert(fc.property(anyText, loadOrRefuse), { numRuns: 3000 });
  });

  it('JSON of arbitrary values: loads or InvalidError (1,000 runs)', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => loadOrRefuse(JSON.stringify(v))), { numRuns: 1000 });
  });

  it('alias bombs ("billion laughs"), deep nesting and huge inputs are refused quickly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 12 }), fc.integer({ min: 8, max: 20 }), (levels, width) => {
        let y = 'apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: x}\nspec:\n  a0: &a0 [x]\n';
        for (let i = 1; i < levels; i++) y += `  a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(',')}]\n`;
        const ms = timed(() => assert.throws(() => parseDocuments(y, 'bomb'), (e) => e instanceof InvalidError && /expands/.test(e.message)));
        assert.ok(ms < 1000, `${ms} ms`);
      }),
      { numRuns: 30 },
    );
    for (const deep of ['['.repeat(100_000), '['.repeat(5_000) + ']'.repeat(5_000), 'a:\n' + Array.from({ length: 200 }, (_, i) => ' '.repeat(i + 1) + 'b:').join('\n')])
      assert.throws(() => parseDocuments(deep, 'deep'), InvalidError);
    assert.throws(() => parseDocuments('x'.repeat(17 * 1024 * 1024), 'huge'), /MiB/);
  });
});

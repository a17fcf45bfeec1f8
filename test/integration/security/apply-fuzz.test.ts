// Hostile input end to end: kiwictl apply of a few hundred generated invalid documents (mutated
// objects the validator refuses, YAML-ish junk, an alias bomb, an oversized object, absurd
// counts) against a real etcd. Every one is refused (exit 2) and etcd's revision does not move.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { ensureBuilt, kiwictl } from '../kiwictl/cli.js';
import { validateObject } from '../../../crds/api/validate.js';
import { parseDocuments } from '../../../crds/api/load.js';
import { mutate, mutationPath, oddValue, validBooking, validNode, yamlish } from '../../unit/fuzz/gen.js';

function refusedByValidator(obj: unknown): boolean {
  try {
    validateObject(obj, 'x');
    return false;
  } catch {
    return true;
  }
}
function refusedByLoader(text: string): boolean {
  try {
    for (const d of parseDocuments(text, 'x')) if (!refusedByValidator(d.object)) return false;
    return true;
  } catch {
    return true;
  }
}

/** A few hundred documents, each refused by kiwictl on its own. */
function invalidDocuments(): string[] {
  const mutation = fc.record({ path: mutationPath, value: oddValue, op: fc.constantFrom<'set' | 'delete'>('set', 'delete') });
  const mutated = fc
    .tuple(fc.constantFrom(validBooking, validNode), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([make, ms]) => ms.reduce((o: any, m) => mutate(o, m.path, m.value, m.op), make()))
    .filter(refusedByValidator)
    .map((o) => JSON.stringify(o));
  const junk = yamlish.filter(refusedByLoader);
  const docs = [...fc.sample(mutated, { numRuns: 250, seed: 42 }), ...fc.sample(junk, { numRuns: 100, seed: 7 })];
  let bomb = 'apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: bomb}\nspec:\n  a0: &a0 [x]\n';
  for (let i = 1; i < 10; i++) bomb += `  a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]\n`;
  docs.push(bomb);
  docs.push(JSON.stringify({ ...validNode(), metadata: { name: 'big', annotations: { a: 'x'.repeat(300 * 1024) } } }));
  const { nodes: _n, ...countSpec } = validBooking().spec;
  docs.push(JSON.stringify({ ...validBooking(), spec: { ...countSpec, count: 100_000 } }));
  docs.push(JSON.stringify({ ...validBooking(), spec: { ...validBooking().spec, nodes: Array.from({ length: 5000 }, (_, i) => `n${i}`) } }));
  return docs;
}

describe('security: kiwictl apply refuses hostile documents and writes nothing', function () {
  this.timeout(120_000);
  let etcd: TestEtcd;
  let dir: string;
  const rev = async () => Number((await etcd.client().get('/kiwi/none').exec()).header.revision);

  before(async () => {
    await ensureBuilt();
    etcd = await startEtcd();
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-fuzz-apply-'));
  });
  after(async () => {
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each of a few hundred invalid documents, all together, and mixed with a valid one: exit 2, revision unchanged', async () => {
    const docs = invalidDocuments();
    assert.ok(docs.length >= 300, `${docs.length} documents`);
    const before = await rev();
    docs.forEach((d, i) => writeFileSync(join(dir, `d${String(i).padStart(4, '0')}.yaml`), d));
    const env = { KIWI_ENDPOINTS: etcd.endpoint };
    // all at once, through a directory: every file is reported, none is written
    let r = await kiwictl(['apply', '-f', dir], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stderr.slice(0, 2000));
    assert.ok(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length >= 50, r.stderr.slice(0, 2000));
    // with one valid document among them: all or nothing
    writeFileSync(join(dir, 'valid.yaml'), JSON.stringify(validNode()));
    r = await kiwictl(['apply', '-f', dir], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 2);
    // one at a time (a sample, each its own kiwictl process, over stdin): refused, within seconds
    for (const d of fc.sample(fc.constantFrom(...docs), { numRuns: 25, seed: 3 }).concat(docs.slice(-4))) {
      r = await kiwictl(['apply', '-f', '-'], { env, input: d, timeoutMs: 20_000 });
      assert.equal(r.code, 2, `${d.slice(0, 200)}\n${r.stderr}`);
      assert.match(r.stderr, /^error: /);
      assert.ok(r.ms < 10_000, `${r.ms} ms`);
    }
    assert.equal(await rev(), before, 'etcd revision unchanged: nothing was written');
  });
});

// Every file of test/fixtures/invalid/ is refused by the real kiwictl against a real etcd: a
// non-zero exit, an error naming the file (and document) and the field, matching the fixture's
// `# expect:` line, and not one key or revision of etcd changed.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { ensureBuilt, kiwictl, ROOT } from './cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'invalid');

/** Everything under /kiwi/ and the store's revision: what "nothing was written" compares. */
async function snapshot(client: Etcd3): Promise<{ revision: string; kvs: string[] }> {
  const r = await client.getAll().prefix('/kiwi/').exec();
  return { revision: r.header.revision, kvs: r.kvs.map((kv) => `${kv.key} ${kv.mod_revision} ${kv.value}`) };
}

function expectOf(file: string): RegExp {
  const m = /^# expect: (.+)$/m.exec(readFileSync(file, 'utf8'));
  assert.ok(m, `${basename(file)} has no "# expect: <regex>" line`);
  return new RegExp(m[1]);
}

describe('kiwictl apply: the invalid corpus (real etcd, real binary)', function () {
  this.timeout(120_000);
  let etcd: TestEtcd;
  let client: Etcd3;
  let tmp: string;
  const fixtures = readdirSync(FIXTURES).filter((f) => !f.startsWith('.')).sort();

  before(async () => {
    await ensureBuilt();
    etcd = await startEtcd();
    client = etcd.client();
    tmp = mkdtempSync(join(tmpdir(), 'kiwitest-invalid-'));
    // Something to leave alone: a node that several fixtures name.
    const seed = join(tmp, 'seed.yaml');
    writeFileSync(seed, 'apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: n01}\nspec: {address: 10.0.0.1}\n');
    const r = await kiwictl(['apply', '-f', seed], { env: { KIWI_ENDPOINTS: etcd.endpoint } });
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await etcd?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('has at least 24 fixtures, each with an expect line', () => {
    assert.ok(fixtures.length >= 24, `only ${fixtures.length} fixtures`);
    for (const f of fixtures) expectOf(join(FIXTURES, f));
  });

  async function refused(file: string, expect: RegExp, names: RegExp = new RegExp(basename(file).replace(/\./g, '\\.'))) {
    const before = await snapshot(client);
    const r = await kiwictl(['apply', '-f', file], { env: { KIWI_ENDPOINTS: etcd.endpoint } });
    assert.notEqual(r.code, 0, `${basename(file)}: exit 0; stdout: ${r.stdout}`);
    assert.equal(r.code, 2, `${basename(file)}: invalid input exits 2, got ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /m);
    assert.match(r.stderr, names, `${basename(file)}: the error does not name the file/document:\n${r.stderr}`);
    assert.match(r.stderr, expect, `${basename(file)}: stderr does not match ${expect}:\n${r.stderr}`);
    assert.equal(r.stdout, '', `${basename(file)}: nothing may be reported as written`);
    assert.deepEqual(await snapshot(client), before, `${basename(file)}: etcd changed`);
  }

  for (const f of readdirSync(FIXTURES).filter((x) => !x.startsWith('.')).sort()) {
    it(`refuses ${f}`, async () => {
      const file = join(FIXTURES, f);
      await refused(file, expectOf(file));
    });
  }

  it('refuses a 5 MB document (generated), naming its size', async () => {
    const file = join(tmp, 'huge.yaml');
    const big = 'x'.repeat(5 * 1024 * 1024);
    writeFileSync(file, `apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: n-huge, annotations: {note: "${big}"}}\nspec: {address: 10.0.0.9}\n`);
    await refused(file, /\(Node n-huge\): object is 5\.0 MiB, larger than the 256 KiB Kiwi stores/);
  });

  it('refuses the whole set when one of several files is bad (-f twice)', async () => {
    const good = join(tmp, 'good.yaml');
    writeFileSync(good, 'apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: n-fine}\nspec: {address: 10.0.0.5}\n');
    const before = await snapshot(client);
    const r = await kiwictl(['apply', '-f', good, '-f', join(FIXTURES, '13-garbage-duration.yaml')], { env: { KIWI_ENDPOINTS: etcd.endpoint } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /13-garbage-duration\.yaml \(Booking alice\/bk-soon\): spec\.duration/);
    assert.deepEqual(await snapshot(client), before);
  });
});

// Pure cores, checked: the planner (operator/src/plan, with the power decisions it calls), the
// daemon's decisions (node-daemon/src/decide, every module) and crds/api's pure entry are
// bundled with esbuild, as the build bundles the programs, and what the bundle reaches must hold no I/O (etcd3, gRPC, the file
// system, processes, sockets, logs, metrics) and no read of the clock: they take `now` from
// their caller. Type-only imports vanish in the bundle, as at run time.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from '../../helpers/build.js';

const PURE_ENTRIES = [
  'operator/src/plan/index.ts',
  'operator/src/power/decide.ts',
  'operator/src/accounting/manage.ts',
  ...readdirSync(join(ROOT, 'node-daemon/src/decide')).filter((f) => f.endsWith('.ts')).map((f) => `node-daemon/src/decide/${f}`),
  'crds/api/pure.ts',
];

const FORBIDDEN_MODULES = /^(node:)?(fs|fs\/promises|child_process|net|tls|http|https|http2|dgram|dns|worker_threads|cluster)$|^(etcd3|@grpc\/|pino|prom-client|cockatiel|commander)/;
const CLOCK_READS: [RegExp, string][] = [
  [/\bDate\.now\b/, 'Date.now'],
  [/new Date\(\s*\)/, 'new Date()'],
  [/\bperformance\.now\b/, 'performance.now'],
  [/\bprocess\.hrtime\b/, 'process.hrtime'],
];

/** What bundling `entry` reaches: our source files, and the modules left outside the bundle. */
async function reach(entry: string): Promise<{ files: string[]; external: { module: string; from: string }[] }> {
  const r = await build({ entryPoints: [join(ROOT, entry)], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent', absWorkingDir: ROOT });
  const files = Object.keys(r.metafile.inputs);
  const external = files.flatMap((f) => r.metafile.inputs[f].imports.filter((i) => i.external).map((i) => ({ module: i.path, from: f })));
  return { files, external };
}

const withoutComments = (src: string) => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

/** The I/O and clock reads that bundling `entry` reaches, one line each. */
async function impurities(entry: string): Promise<string[]> {
  const { files, external } = await reach(entry);
  const out = external.filter((e) => FORBIDDEN_MODULES.test(e.module)).map((e) => `${e.from} imports ${e.module}`);
  for (const f of files) {
    const src = withoutComments(readFileSync(join(ROOT, f), 'utf8'));
    for (const [re, what] of CLOCK_READS) if (re.test(src)) out.push(`${relative(ROOT, join(ROOT, f))} reads the clock (${what})`);
  }
  return out;
}

describe('pure cores reach no I/O and no clock (bundled with esbuild)', function () {
  this.timeout(30_000);
  for (const entry of PURE_ENTRIES) {
    it(`${entry}`, async () => {
      assert.deepEqual(await impurities(entry), []);
    });
  }

  it('the check finds what it looks for: crds/api/index.ts (pure and I/O) reaches etcd3, fs and the clock', async () => {
    const found = await impurities('crds/api/index.ts');
    assert.ok(found.some((l) => l.endsWith('imports etcd3')), found.join('\n'));
    assert.ok(found.some((l) => /imports (node:)?fs$/.test(l)), found.join('\n'));
    assert.ok(found.some((l) => l.includes('reads the clock')), found.join('\n'));
  });
});

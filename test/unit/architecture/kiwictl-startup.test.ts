// kiwictl starts on every command, so what it loads before a verb runs is its start-up cost:
// etcd3 with gRPC and protobufjs (~90 ms), ajv, js-yaml, pino and cockatiel must come in only
// through `await import()` of the verbs that need them. This follows the static imports from
// kiwictl/src/main.ts in esbuild's graph (as the build bundles it; dynamic imports become chunks
// loaded later) and names the chain that reaches a heavy package. It caught a verb module
// importing crds/api/index.js (which loads etcd3): `kiwictl get nodes` had gone from ~80 to
// ~146 ms.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { ROOT } from '../../helpers/build.js';

const HEAVY = /node_modules\/(etcd3|@grpc|protobufjs|ajv|ajv-formats|js-yaml|pino|cockatiel)\//;

/** Each heavy package file reached from `entry` by static imports, with the chain that reaches it. */
async function heavyAtStart(entry: string): Promise<string[]> {
  const r = await build({ entryPoints: [join(ROOT, entry)], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', splitting: true, outdir: '/nonexistent', logLevel: 'silent', absWorkingDir: ROOT });
  const inputs: Metafile['inputs'] = r.metafile.inputs;
  const from = new Map<string, string | null>([[entry, null]]);
  const queue = [entry];
  while (queue.length) {
    const f = queue.shift()!;
    for (const i of inputs[f]?.imports ?? []) {
      if (i.external || i.kind === 'dynamic-import' || from.has(i.path)) continue;
      from.set(i.path, f);
      queue.push(i.path);
    }
  }
  const chain = (f: string) => {
    const out: string[] = [];
    for (let x: string | null | undefined = f; x; x = from.get(x)) out.unshift(x);
    return out.join(' -> ');
  };
  const seen = new Set<string>();
  return [...from.keys()].filter((f) => HEAVY.test(f)).map((f) => HEAVY.exec(f)![1]).filter((p) => !seen.has(p) && seen.add(p)).map((p) => chain([...from.keys()].find((f) => f.includes(`node_modules/${p}/`))!));
}

describe('kiwictl start-up loads no heavy package before a verb asks for it', function () {
  this.timeout(30_000);
  it('kiwictl/src/main.ts reaches none of etcd3, gRPC, protobufjs, ajv, js-yaml, pino, cockatiel statically', async () => {
    assert.deepEqual(await heavyAtStart('kiwictl/src/main.ts'), []);
  });
  it('the check finds what it looks for: crds/api/index.ts reaches etcd3 statically', async () => {
    const found = await heavyAtStart('crds/api/index.ts');
    assert.ok(found.some((c) => c.includes('node_modules/etcd3/')), found.join('\n'));
  });
});

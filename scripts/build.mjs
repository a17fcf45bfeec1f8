// Bundles each program into one file under dist/ with esbuild, so that a kiwictl verb starts
// fast: one file to read instead of hundreds of modules (see bench/cli-startup). Code split:
// a verb loads only the chunks it imports (dynamic import), e.g. `get` never loads ajv.
import { build } from 'esbuild';

const started = Date.now();
await build({
  entryPoints: {
    kiwictl: 'kiwictl/src/main.ts',
    'kiwi-operator': 'operator/src/main.ts',
    'kiwi-node-daemon': 'node-daemon/src/main.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __kiwiCreateRequire } from 'node:module'; const require = __kiwiCreateRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
});
console.error(`built dist/ in ${Date.now() - started} ms`);

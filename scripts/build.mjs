// Bundles each program into one file under dist/ with esbuild, so that a kiwictl verb starts
// fast: one file to read instead of hundreds of modules (see bench/cli-startup). A verb
// evaluates only the code it imports (dynamic import), e.g. `get` never runs ajv's.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';

// etcd3 reads its .proto files at run time from `${__dirname}/../proto`, which a bundle has no
// __dirname for. Parse them here, at build time, and hand proto-loader the parsed JSON instead:
// the bundle needs no proto files and start-up skips the .proto parsing (~30 ms).
const etcd3Protos = {
  name: 'etcd3-protos',
  setup(b) {
    b.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, ({ path }) => {
      const require = createRequire(path);
      const protobuf = require('protobufjs');
      const root = new protobuf.Root();
      root.loadSync(new URL('../proto/rpc.proto', `file://${path}`).pathname, { keepCase: true });
      const src = readFileSync(path, 'utf8');
      const call = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`,';
      if (!src.includes(call)) throw new Error(`etcd3-protos: ${path} no longer loads its protos as expected; update scripts/build.mjs`);
      return { contents: src.replace(call, `(0, proto_loader_1.fromJSON)(${JSON.stringify(root.toJSON())},`), loader: 'js' };
    });
  },
};

// Node's own modules, loaded when first used rather than when a chunk is evaluated. An ESM
// `import { x } from 'node:fs'` makes Node load the module and build an ESM facade of it at link
// time, reading every export (fs's ReadStream getter alone loads all of streams): a kiwictl.js
// that imports http2, tls, crypto, readline, child_process, worker_threads ... for its 30 verbs
// paid ~17 ms for them on every `kiwictl get nodes` (bench/results/profiles.md, "kiwictl
// start-up"). Here each such import reads a stand-in whose exports are getters that require()
// the module on first access; require() builds no facade. The names come from the building
// Node; a name the running Node lacks reads as undefined. A write goes to the module itself
// (crds/api/tls-servername.ts patches tls.connect). kiwictl's build only: the daemons start once.
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const builtin = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, ({ path, kind }) => {
      if (!builtin.has(path)) return undefined;
      const name = path.startsWith('node:') ? path : `node:${path}`;
      // Only static imports: a require() or import() already loads on use.
      if (kind !== 'import-statement') return { path: name, external: true };
      return { path: name, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, ({ path }) => {
      const names = Object.keys(createRequire(import.meta.url)(path)).filter((k) => k !== 'default' && k !== '__esModule');
      return {
        contents: `let m; const load = () => (m ??= require(${JSON.stringify(path)}));\n` +
          `for (const k of ${JSON.stringify(names)}) Object.defineProperty(exports, k, { enumerable: true, get: () => load()[k], set: (v) => { load()[k] = v; } });`,
        loader: 'js',
        resolveDir: '.',
      };
    });
  },
};

const entries = {
  kiwictl: 'kiwictl/src/main.ts',
  'kiwi-operator': 'operator/src/main.ts',
  'kiwi-node-daemon': 'node-daemon/src/main.ts',
  'kiwi-web': 'kiwi-web/src/main.ts',
};

const started = Date.now();
// Old chunks would pile up across builds: start clean.
rmSync('dist', { recursive: true, force: true });
const programBuild = (entryPoints, { splitting, lazy = false, ...more }) => build({
  ...more,
  entryPoints,
  splitting,
  plugins: [etcd3Protos, ...(lazy ? [lazyBuiltins] : [])],
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __kiwiCreateRequire } from 'node:module'; const require = __kiwiCreateRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
});
// kiwictl on its own, in one file without chunks: built with the other programs and split, a
// `kiwictl get` resolved, linked and read ~30 small chunks (~6 ms). Its `await import()`s of
// etcd3, ajv and js-yaml stay lazy in one file: esbuild wraps such a module in an init function
// that runs on the import, so a verb still evaluates only what it imports; V8 only pre-parses the
// rest (and the compile cache keeps what ran).
const { kiwictl, ...daemons } = entries;
await programBuild({ kiwictl }, { splitting: false, lazy: true, minifyWhitespace: true, minifySyntax: true });
await programBuild(daemons, { splitting: true });
// kiwi-web's page: one browser bundle, no framework, plus its two static files.
await build({
  entryPoints: { app: 'kiwi-web/page/app.ts' },
  outdir: 'dist/kiwi-web',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});
mkdirSync('dist/kiwi-web', { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(`kiwi-web/page/${f}`, `dist/kiwi-web/${f}`);
console.error(`built dist/ in ${Date.now() - started} ms`);

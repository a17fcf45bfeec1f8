// Running the real, built kiwictl as a child process, for the kiwictl integration tests and the
// benches. ensureBuilt() bundles it once when dist/ is missing or older than the sources.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const KIWICTL = join(ROOT, 'bin', 'kiwictl');
const BUNDLE = join(ROOT, 'dist', 'kiwictl.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Builds dist/kiwictl.js if it is missing or stale. Uses `npm run build`; while the other
 * programs' entry points are still missing from the tree, bundles kiwictl alone with the
 * same esbuild settings.
 */
export async function ensureBuilt(): Promise<void> {
  const src = Math.max(newest(join(ROOT, 'kiwictl', 'src')), newest(join(ROOT, 'crds', 'api')));
  if (existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= src) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0) return;
  const { build } = await import('esbuild');
  await build({
    entryPoints: { kiwictl: join(ROOT, 'kiwictl/src/main.ts') },
    outdir: join(ROOT, 'dist'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __kiwiCreateRequire } from 'node:module'; const require = __kiwiCreateRequire(import.meta.url);" },
    chunkNames: 'chunks/[name]-[hash]',
  });
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs kiwictl with args. The environment is isolated: no config file, an empty dev state dir,
 * so only what the test passes (KIWI_ENDPOINTS, --endpoints) decides the endpoint.
 */
export function kiwictl(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(KIWICTL, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, XDG_CONFIG_HOME: '/nonexistent/kiwi-config', KIWI_STATE_DIR: '/nonexistent/kiwi-state', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    p.stdin.end(opts.input ?? '');
  });
}

// The tests run the real, built programs (dist/, as bin/* does). ensureBuilt() runs
// `npm run build` once per test process when dist/ is missing or older than any source, so a
// single test file run by hand gets a fresh build too; scripts/test.sh builds before mocha.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export type Program = 'kiwictl' | 'kiwi-operator' | 'kiwi-node-daemon' | 'kiwi-web';

/** The bundled script of a program (run it with process.execPath). */
export const distScript = (p: Program) => join(ROOT, 'dist', `${p}.js`);
/** The program as users run it. */
export const binPath = (p: Program) => join(ROOT, 'bin', p);

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

let built = false;
export function ensureBuilt(): void {
  if (built) return;
  const sources = Math.max(...['crds', 'kiwictl', 'operator', 'node-daemon', 'kiwi-web', 'scripts'].map((d) => newest(join(ROOT, d))));
  const oldest = Math.min(...(['kiwictl', 'kiwi-operator', 'kiwi-node-daemon', 'kiwi-web'] as Program[]).map((p) => (existsSync(distScript(p)) ? statSync(distScript(p)).mtimeMs : 0)));
  if (oldest < sources) {
    const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
  }
  built = true;
}

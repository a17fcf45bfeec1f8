// bin/kiwictl keeps Node's compile cache (Node >= 22.1) in a directory of the user's own, never
// in Node's shared default under /tmp, and uses none it does not trust. Real kiwictl processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import module from 'node:module';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, KIWICTL, ROOT } from './cli.js';

const run = (env: Record<string, string>) => spawnSync(process.execPath, [KIWICTL, 'explain', 'booking'], { cwd: ROOT, env: { PATH: process.env.PATH!, HOME: '/nonexistent', ...env }, encoding: 'utf8' });

describe('kiwictl: Node compile cache in the user\'s own directory', function () {
  this.timeout(30_000);
  let home: string;
  before(async function () {
    if (!(module as unknown as { enableCompileCache?: unknown }).enableCompileCache) {
      console.log(`      (skipped: Node ${process.version} has no module.enableCompileCache; it needs 22.1 or newer)`);
      this.skip();
    }
    await ensureBuilt();
  });
  beforeEach(() => (home = mkdtempSync(join(tmpdir(), 'kiwitest-ccache-'))));
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('writes it under $XDG_CACHE_HOME/kiwi/node-compile-cache, mode 0700, and the next run works from it', () => {
    const r = run({ XDG_CACHE_HOME: home });
    assert.equal(r.status, 0, r.stderr);
    const dir = join(home, 'kiwi', 'node-compile-cache');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.ok(readdirSync(dir).length > 0, 'something cached');
    const again = run({ XDG_CACHE_HOME: home });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, r.stdout);
  });

  it('a cache directory others may write is not used', () => {
    const dir = join(home, 'kiwi', 'node-compile-cache');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    const r = run({ XDG_CACHE_HOME: home });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(dir), []);
  });
});

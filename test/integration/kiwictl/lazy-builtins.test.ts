// The built kiwictl loads a Node module only when a verb uses it (scripts/build.mjs lazyBuiltins,
// bin/kiwictl's process.getBuiltinModule), and only the verb being run is set up (program.ts
// verbOf): `explain` (no etcd) must not load http2, tls, child_process, readline or
// worker_threads, which other verbs import (nor zlib, which gRPC needs); `get` loads http2 for its
// read and still not child_process. Read from process.moduleLoadList at exit, through a preload.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, KIWICTL, ROOT } from './cli.js';

function loadedBy(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'kiwitest-lazy-'));
  try {
    const out = join(dir, 'loaded.txt');
    writeFileSync(join(dir, 'hook.cjs'), `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')));`);
    const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['-r', join(dir, 'hook.cjs'), KIWICTL, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      // nothing listens on port 1: get fails fast after loading what a read needs
      env: { ...env, KIWI_ENDPOINTS: 'http://127.0.0.1:1', KIWI_STATE_DIR: '/nonexistent', KIWI_DEV_STATE_DIR: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', KIWI_TOKEN_CACHE: 'off' },
    });
    assert.ok(r.status !== null, r.stderr);
    return readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('NativeModule ')).map((l) => l.slice('NativeModule '.length));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('built kiwictl loads only the Node modules its verb uses', function () {
  this.timeout(60_000);
  before(ensureBuilt);

  it('explain booking loads none of http2, tls, child_process, readline, worker_threads', () => {
    const loaded = loadedBy(['explain', 'booking']);
    assert.ok(loaded.includes('fs'), 'the hook saw the modules (fs at least)');
    for (const m of ['http2', 'tls', 'child_process', 'internal/readline/interface', 'worker_threads', 'zlib']) assert.ok(!loaded.includes(m), `${m} loaded: ${loaded.join(' ')}`);
  });

  it('get nodes loads http2 for its read, and still not child_process or worker_threads', () => {
    const loaded = loadedBy(['get', 'nodes']);
    assert.ok(loaded.includes('http2'), loaded.join(' '));
    for (const m of ['child_process', 'worker_threads', 'zlib']) assert.ok(!loaded.includes(m), `${m} loaded: ${loaded.join(' ')}`);
  });
});

// Commands Kiwi runs are found by absolute path in fixed system directories (crds/api/tools.ts),
// never through PATH: a fake nvidia-smi first in PATH is not run by the daemon's GPU detection.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, systemTool, SYSTEM_DIRS } from '../../../crds/api/tools.js';
import { detectGpus } from '../../../node-daemon/src/register/capacity.js';

type Fake = { uid: number; mode: number; file: boolean };
const fakeStat = (fs: Record<string, Fake>) => (p: string): Stats => {
  const f = fs[p];
  if (!f) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  return { uid: f.uid, mode: f.mode, isFile: () => f.file } as unknown as Stats;
};
const DIR: Fake = { uid: 0, mode: 0o755, file: false };
const BIN: Fake = { uid: 0, mode: 0o755, file: true };

describe('system tools by absolute path', () => {
  it('the first system directory with a safe copy wins; unsafe copies are passed over', () => {
    const dirs = ['/a', '/b', '/c', '/d'];
    const fs = { '/a': DIR, '/b': DIR, '/c': DIR, '/d': { ...DIR, mode: 0o777 }, '/a/t': { ...BIN, uid: 1000 }, '/b/t': { ...BIN, mode: 0o775 }, '/c/t': BIN, '/d/u': BIN, '/a/n': { ...BIN, mode: 0o644 }, '/b/n': { ...BIN, file: false } };
    assert.equal(findTool('t', dirs, fakeStat(fs)), '/c/t', 'not a user\'s, not group-writable');
    assert.equal(findTool('u', dirs, fakeStat(fs)), undefined, 'in a world-writable directory');
    assert.equal(findTool('n', dirs, fakeStat(fs)), undefined, 'not executable, not a file');
    assert.throws(() => findTool('../bin/sh', dirs, fakeStat(fs)), /not a command name/);
  });

  it('the directories are fixed system ones; the real getent, setpriv and kill are found there', () => {
    assert.deepEqual(SYSTEM_DIRS, ['/usr/sbin', '/usr/bin', '/sbin', '/bin']);
    for (const t of ['getent', 'setpriv', 'kill']) assert.match(systemTool(t) ?? '', new RegExp(`^/(usr/)?s?bin/${t}$`), t);
  });

  it('a fake nvidia-smi first in PATH is never run by GPU detection', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiwitest-path-'));
    const marker = join(dir, 'ran');
    writeFileSync(join(dir, 'nvidia-smi'), `#!/bin/sh\ntouch ${marker}\necho 'GPU 0: fake'\n`);
    chmodSync(join(dir, 'nvidia-smi'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    try {
      const n = detectGpus();
      assert.equal(existsSync(marker), false, 'the PATH copy did not run');
      assert.equal(n, systemTool('nvidia-smi') ? n : 0);
    } finally {
      process.env.PATH = path;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

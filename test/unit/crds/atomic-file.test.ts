// The one atomic file write (crds/api/atomic-file.ts): whole new content with the exact mode,
// nothing left behind when it fails, and no pre-made file followed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../crds/api/atomic-file.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kiwi-atomic-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces a file with the whole new content and exactly the mode asked for, whatever the umask', () => {
    const f = join(dir, 'sub', 'state.json');
    const old = process.umask(0o077);
    try {
      writeFileAtomic(f, 'one', { mode: 0o644 });
      writeFileAtomic(f, Buffer.from('two'), { mode: 0o640 });
    } finally {
      process.umask(old);
    }
    assert.equal(readFileSync(f, 'utf8'), 'two');
    assert.equal(statSync(f).mode & 0o7777, 0o640);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['state.json'], 'no temporary file is left');
  });

  it('leaves the old file and no temporary file when the rename fails', () => {
    const target = join(dir, 'is-a-dir');
    mkdirSync(join(target, 'inside'), { recursive: true });
    assert.throws(() => writeFileAtomic(target, 'x', { mode: 0o600 }));
    assert.deepEqual(readdirSync(dir), ['is-a-dir']);
  });

  it('replaces a symlink at the path instead of writing through it', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, join(dir, 'link'));
    writeFileAtomic(join(dir, 'link'), 'new', { mode: 0o600 });
    assert.equal(readFileSync(victim, 'utf8'), 'keep');
    assert.equal(readFileSync(join(dir, 'link'), 'utf8'), 'new');
    assert.equal(statSync(join(dir, 'link')).isFile(), true);
  });
});

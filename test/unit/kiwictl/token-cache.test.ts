// The etcd token cache (kiwictl/src/client/token-cache.ts): what it keeps, for how long, and what
// it refuses to trust. Real files in a temp dir; the clock is injected.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenCache, LIFETIME_MS, tokenCacheDir } from '../../../kiwictl/src/client/token-cache.js';

describe('kiwictl etcd token cache', () => {
  let root: string;
  let dir: string;
  let now: number;
  let cache: FileTokenCache;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kiwitest-tokens-'));
    dir = join(root, 'kiwi', 'etcd-tokens');
    now = 1_000_000;
    cache = new FileTokenCache(dir, () => now);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps a token for its endpoint, user and password, in a 0700 directory and a 0600 file', () => {
    cache.put('https://e1:2379', 'alice', 'pw', 'tok1');
    assert.equal(cache.get('https://e1:2379', 'alice', 'pw'), 'tok1');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const [f] = readdirSync(dir);
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
    assert.equal(readdirSync(dir).length, 1, 'no temp file left behind');
  });

  it('another endpoint, user or password (a wrong or changed one) finds nothing', () => {
    cache.put('https://e1:2379', 'alice', 'pw', 'tok1');
    assert.equal(cache.get('https://e2:2379', 'alice', 'pw'), undefined);
    assert.equal(cache.get('https://e1:2379', 'bob', 'pw'), undefined);
    assert.equal(cache.get('https://e1:2379', 'alice', 'wrong'), undefined);
  });

  it('a token is used until LIFETIME_MS after its login, then no more', () => {
    cache.put('e', 'alice', 'pw', 'tok1');
    now += LIFETIME_MS - 1;
    assert.equal(cache.get('e', 'alice', 'pw'), 'tok1');
    now += 1;
    assert.equal(cache.get('e', 'alice', 'pw'), undefined);
  });

  it('forget drops it', () => {
    cache.put('e', 'alice', 'pw', 'tok1');
    cache.forget('e', 'alice', 'pw');
    assert.equal(cache.get('e', 'alice', 'pw'), undefined);
  });

  it('a file others may read, a directory others may enter, a symlink or a malformed file is not trusted', () => {
    cache.put('e', 'alice', 'pw', 'tok1');
    const f = join(dir, readdirSync(dir)[0]);
    chmodSync(f, 0o644);
    assert.equal(cache.get('e', 'alice', 'pw'), undefined, 'file 0644');
    chmodSync(f, 0o600);
    chmodSync(dir, 0o755);
    assert.equal(cache.get('e', 'alice', 'pw'), undefined, 'directory 0755');
    cache.put('e', 'alice', 'pw', 'tok2');
    assert.equal(cache.get('e', 'alice', 'pw'), undefined, 'nor written into');
    chmodSync(dir, 0o700);
    writeFileSync(f, 'not json', { mode: 0o600 });
    assert.equal(cache.get('e', 'alice', 'pw'), undefined, 'malformed');
    rmSync(f);
    const elsewhere = join(root, 'planted');
    writeFileSync(elsewhere, JSON.stringify({ token: 'planted', expires: now + 1000 }), { mode: 0o600 });
    symlinkSync(elsewhere, f);
    assert.equal(cache.get('e', 'alice', 'pw'), undefined, 'symlink');
  });

  it('lives under $XDG_CACHE_HOME (else ~/.cache)/kiwi/etcd-tokens; KIWI_TOKEN_CACHE=off turns it off', () => {
    assert.equal(tokenCacheDir({ XDG_CACHE_HOME: '/c', HOME: '/h' }), '/c/kiwi/etcd-tokens');
    assert.equal(tokenCacheDir({ HOME: '/h' }), '/h/.cache/kiwi/etcd-tokens');
    assert.equal(tokenCacheDir({ HOME: '/h', KIWI_TOKEN_CACHE: 'off' }), undefined);
  });
});

// The etcd `kiwictl dev up` starts (and so the quickstart) runs with the flags of every etcd Kiwi
// starts, and `kiwictl admin backup` writes a snapshot etcdctl reads, with the revision etcdctl
// sees, refusing to overwrite a file or to leave a partial one behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETCD_SERVER_FLAGS } from '../../../crds/api/etcd-server.js';
import { freePort } from '../../helpers/ports.js';
import { ensureBuilt, kiwictl } from '../kiwictl/cli.js';

describe('kiwictl dev up and admin backup (real etcd)', function () {
  this.timeout(60_000);
  const state = mkdtempSync(join(tmpdir(), 'kiwitest-devetcd-'));
  const env = { KIWI_DEV_STATE_DIR: state };
  let endpoint = '';

  before(async () => {
    await ensureBuilt();
    const r = await kiwictl(['dev', 'up', '--port', String(await freePort()), '--peer-port', String(await freePort())], { env });
    assert.equal(r.code, 0, r.stderr);
    endpoint = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(r.stdout)![1];
  });
  after(async () => {
    await kiwictl(['dev', 'down'], { env });
    rmSync(state, { recursive: true, force: true });
  });

  it('dev up starts etcd with auto-compaction, the quota and the request limit', () => {
    const st = JSON.parse(readFileSync(join(state, 'state.json'), 'utf8'));
    const argv = readFileSync(`/proc/${st.pid}/cmdline`, 'utf8').split('\0');
    for (const f of ETCD_SERVER_FLAGS) assert.ok(argv.includes(f), `${f} missing from ${argv.join(' ')}`);
  });

  it('backup writes what etcdctl reads, at the revision etcdctl sees, mode 0600', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await kiwictl(['--endpoints', endpoint, 'add-node', `bk${i}`, '--host', '127.0.0.1'])).code, 0);
    const file = join(state, 'kiwi.db');
    const r = await kiwictl(['--endpoints', endpoint, 'admin', 'backup', file]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^snapshot of etcd at revision (\d+) written to \S+ \((\d+) bytes, sha256 ([0-9a-f]{64})\)$/m.exec(r.stdout)!;
    assert.ok(m, r.stdout);
    const st = JSON.parse(execFileSync('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } }));
    assert.equal(Number(m[1]), st.revision);
    assert.ok(st.revision >= 5);
    assert.equal(Number(m[2]), statSync(file).size);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('refuses to replace a file without --force, and replaces it with --force', async () => {
    const file = join(state, 'exists.db');
    writeFileSync(file, 'precious');
    const r = await kiwictl(['--endpoints', endpoint, 'admin', 'backup', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exists\.db exists: name a new file, or add --force to replace it/);
    assert.equal(readFileSync(file, 'utf8'), 'precious');
    assert.equal((await kiwictl(['--endpoints', endpoint, 'admin', 'backup', '--force', file])).code, 0);
    assert.notEqual(readFileSync(file, 'utf8'), 'precious');
  });

  it('leaves nothing behind when etcd cannot be reached', async () => {
    const file = join(state, 'unreachable.db');
    const r = await kiwictl(['--endpoints', `http://127.0.0.1:${await freePort()}`, 'admin', 'backup', file], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.ok(!existsSync(file));
    assert.deepEqual(readdirSync(state).filter((f) => f.includes('partial')), []);
  });
});

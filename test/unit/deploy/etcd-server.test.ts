// The etcd limits Kiwi runs with (crds/api/etcd-server.ts) and the db-size warning's decision.
import assert from 'node:assert/strict';
import { ETCD_MAX_REQUEST_BYTES, ETCD_QUOTA_BACKEND_BYTES, ETCD_SERVER_FLAGS } from '../../../crds/api/etcd-server.js';
import { MAX_OBJECT_BYTES } from '../../../crds/api/validate.js';
import { dbSizeMessage, dbSizeTransition } from '../../../crds/api/etcd-db-size.js';

describe('etcd limits', () => {
  it('the request limit holds the largest object twice (spec and status) with room, and stays under the 10 MiB etcd advises', () => {
    assert.ok(ETCD_MAX_REQUEST_BYTES >= 2 * MAX_OBJECT_BYTES + 64 * 1024);
    assert.ok(ETCD_MAX_REQUEST_BYTES <= 10 * 1024 * 1024);
    assert.ok(ETCD_MAX_REQUEST_BYTES >= 1.5 * 1024 * 1024, 'not below etcd 3.4’s default (1.5 MiB): batches that fit today must still fit');
  });
  it('every etcd Kiwi starts compacts periodically, names its quota and request limit, and accepts 1 s keepalives', () => {
    assert.deepEqual([...ETCD_SERVER_FLAGS], [
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=1h',
      `--quota-backend-bytes=${ETCD_QUOTA_BACKEND_BYTES}`,
      `--max-request-bytes=${ETCD_MAX_REQUEST_BYTES}`,
      '--grpc-keepalive-min-time=500ms',
    ]);
  });
});

describe('the db-size warning', () => {
  const q = 1000;
  it('starts at 80% of the quota', () => {
    assert.equal(dbSizeTransition(false, { dbSize: 799, quota: q }), undefined);
    assert.equal(dbSizeTransition(false, { dbSize: 800, quota: q }), 'warn');
  });
  it('ends only below 75%, so a size wobbling around 80% does not warn again and again', () => {
    assert.equal(dbSizeTransition(true, { dbSize: 790, quota: q }), undefined);
    assert.equal(dbSizeTransition(true, { dbSize: 760, quota: q }), undefined);
    assert.equal(dbSizeTransition(true, { dbSize: 749, quota: q }), 'clear');
  });
  it('says how full, and what to do', () => {
    const m = dbSizeMessage({ dbSize: 1700 * 1024 * 1024, quota: 2048 * 1024 * 1024 });
    assert.match(m, /^etcd's database is 1700 MiB, 83% of its 2048 MiB quota: at the quota every write fails\./);
    assert.match(m, /etcdctl defrag/);
  });
});

// Which calls get the short write deadline, and which failures are retried.
import assert from 'node:assert/strict';
import { EtcdPermissionDeniedError } from 'etcd3';
import { isTransient, writes } from '../../../crds/api/etcd.js';

describe('etcd calls: deadlines and retries', () => {
  it('a call writes when it puts or deletes, or is a txn with such an operation', () => {
    assert.ok(writes('put', {}));
    assert.ok(writes('deleteRange', {}));
    assert.ok(writes('txn', { success: [{ request_range: {} }, { request_put: {} }] }));
    assert.ok(writes('txn', { success: [], failure: [{ request_delete_range: {} }] }));
    assert.ok(!writes('txn', { success: [{ request_range: {} }], failure: [{ request_range: {} }] }), 'a snapshot read in a txn keeps the long deadline');
    assert.ok(!writes('range', {}));
    assert.ok(!writes('txn', undefined));
  });

  it('retries what is transient and nothing else', () => {
    assert.ok(isTransient(new Error('14 UNAVAILABLE: No connection established')));
    assert.ok(isTransient(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded')));
    assert.ok(!isTransient(new EtcdPermissionDeniedError('etcdserver: permission denied')));
    assert.ok(!isTransient(new Error('Booking u/x already exists')));
  });
});

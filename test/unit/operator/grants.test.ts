// Which flooding users lose their write grants (operator/src/grants/decide.ts): pure.
import assert from 'node:assert/strict';
import { toRevoke } from '../../../operator/src/grants/decide.js';
import { floodReason, REVOKE_FACTOR, writeGrantsOf } from '../../../crds/api/roles.js';

describe('grants: who loses their write grants', () => {
  const limits = { bookings: 10, bytes: 1000 };
  const config = { userLimits: limits, admins: ['boss'] };

  it('past REVOKE_FACTOR times either limit, naming the limit and restore-user; at it, not', () => {
    assert.equal(REVOKE_FACTOR, 2);
    const usage = new Map([
      ['at', { keys: 20, bytes: 2000 }],
      ['keys', { keys: 21, bytes: 10 }],
      ['bytes', { keys: 1, bytes: 2001 }],
    ]);
    const r = toRevoke(usage, config, new Set());
    assert.deepEqual(r.map((x) => x.user), ['bytes', 'keys']);
    assert.match(r[1].reason, /^user keys holds 21 booking keys, more than 2 times the 10 one user may hold \(ClusterConfig spec\.userLimits\.bookings\): .*kiwictl admin restore-user keys`$/);
    assert.match(r[0].reason, /holds 2001 bytes of bookings, more than 2 times the 1000 .*userLimits\.bytes/);
  });

  it('never an admin, never one already revoked', () => {
    const usage = new Map([['boss', { keys: 999, bytes: 0 }], ['done', { keys: 999, bytes: 0 }]]);
    assert.deepEqual(toRevoke(usage, config, new Set(['done'])), []);
    assert.equal(floodReason('boss', { keys: 999, bytes: 0 }, limits) !== '', true, 'restore-user still sees an admin over it');
  });

  it('what is revoked: the user\'s two readwrite grants (bookings, dry runs), never the read of /kiwi/', () => {
    assert.deepEqual(writeGrantsOf('alice'), [
      { permission: 'Readwrite', key: '/kiwi/spec/bookings/alice/', prefix: true },
      { permission: 'Readwrite', key: '/kiwi/dryrun/alice/', prefix: true },
    ]);
  });
});

// Which flooding users lose their write grants (operator/src/grants/decide.ts): pure.
import assert from 'node:assert/strict';
import { toRevoke } from '../../../operator/src/grants/decide.js';
import { countedPrefixes, floodReason, keyOwner, limitReason, REVOKE_FACTOR, writeGrantsOf } from '../../../crds/api/roles.js';
import { KeyUsage, sumUsage } from '../../../operator/src/grants/usage.js';

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
    assert.match(r[1].reason, /^user keys holds 21 keys \(bookings, schedules, subscriptions, dry runs\), more than 2 times the 10 one user may hold \(ClusterConfig spec\.userLimits\.bookings\): .*kiwictl admin restore-user keys`$/);
    assert.match(r[0].reason, /holds 2001 bytes of keys \(bookings, schedules, subscriptions, dry runs\), more than 2 times the 1000 .*userLimits\.bytes/);
  });

  it('never an admin, never one already revoked', () => {
    const usage = new Map([['boss', { keys: 999, bytes: 0 }], ['done', { keys: 999, bytes: 0 }]]);
    assert.deepEqual(toRevoke(usage, config, new Set(['done'])), []);
    assert.equal(floodReason('boss', { keys: 999, bytes: 0 }, limits) !== '', true, 'restore-user still sees an admin over it');
  });

  it('what is revoked: the user\'s readwrite grants (bookings, subscriptions, schedules, dry runs), never the read of /kiwi/', () => {
    assert.deepEqual(writeGrantsOf('alice'), [
      { permission: 'Readwrite', key: '/kiwi/spec/bookings/alice/', prefix: true },
      { permission: 'Readwrite', key: '/kiwi/spec/subscriptions/alice/', prefix: true },
      { permission: 'Readwrite', key: '/kiwi/spec/bookingschedules/alice/', prefix: true },
      { permission: 'Readwrite', key: '/kiwi/dryrun/alice/', prefix: true },
    ]);
  });
});

describe('grants: usage counted key by key, summed over bookings and dry runs', () => {
  it('a key rewritten counts once with its new size; a delete gives it back; users apart', () => {
    const u = new KeyUsage();
    u.set('/a/1', 'alice', 10);
    u.set('/a/2', 'alice', 5);
    u.set('/a/1', 'alice', 20);
    u.set('/b/1', 'bob', 7);
    assert.deepEqual(u.get('alice'), { keys: 2, bytes: 25 });
    u.set('/a/1', 'alice', undefined);
    u.set('/a/2', 'alice', undefined);
    u.set('/a/3', 'alice', undefined); // never held: nothing
    assert.equal(u.get('alice'), undefined);
    assert.deepEqual([...u.byUser()], [['bob', { keys: 1, bytes: 7 }]]);
  });

  it('a user flooding dry runs only is revoked once bookings and dry runs together pass 2x', () => {
    const bookings = new Map([['bob', { keys: 3, bytes: 30 }], ['dave', { keys: 4, bytes: 40 }]]);
    const dry = new Map([['dave', { keys: 17, bytes: 170 }], ['erin', { keys: 20, bytes: 0 }]]);
    const r = toRevoke(sumUsage(bookings, dry), { userLimits: { bookings: 10, bytes: 1000 }, admins: [] }, new Set());
    assert.deepEqual(r.map((x) => [x.user, x.keys]), [['dave', 21]]);
    assert.equal(limitReason('erin', { keys: 11, bytes: 0 }, { bookings: 10, bytes: 1000 }, 1), 'user erin holds 11 keys (bookings, schedules, subscriptions, dry runs), more than the 10 one user may hold (ClusterConfig spec.userLimits.bookings)');
    assert.deepEqual(countedPrefixes('dave'), ['/kiwi/spec/bookings/dave/', '/kiwi/spec/subscriptions/dave/', '/kiwi/spec/bookingschedules/dave/', '/kiwi/dryrun/dave/']);
    // keyOwner's prefixes are a second list of what writeGrantsOf grants: every granted prefix must be owned
    for (const prefix of countedPrefixes('erin')) assert.equal(keyOwner(`${prefix}k`), 'erin', prefix);
    assert.deepEqual(['/kiwi/spec/bookings/dave/x', '/kiwi/spec/subscriptions/dave/s', '/kiwi/spec/bookingschedules/dave/r', '/kiwi/dryrun/dave/1/request', '/kiwi/spec/nodes/n1', '/kiwi/status/bookings/dave/x', '/kiwi/spec/bookings//x'].map(keyOwner), ['dave', 'dave', 'dave', 'dave', undefined, undefined, undefined]);
  });
});

// The kill path's own guard: whatever a caller asks, enforce/ refuses to signal root, system
// users, bypass users and (test mode) users outside the guard, before touching any process.
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG } from '../../../crds/api/index.js';
import { assertMayTouch, signalUser, sweepUser } from '../../../node-daemon/src/enforce/sweep.js';
import { logger } from '../../../crds/api/index.js';

const log = logger('test', 'silent');
const guard = { config: { ...DEFAULT_CONFIG, sshBypassUsers: ['ops'] }, onlyUsers: /^kiwitest/ };

describe('node-daemon enforce guard', () => {
  const cases: [string, number, RegExp][] = [
    ['root', 0, /root is never touched/],
    ['daemon', 1, /below minUid/],
    ['ops', 1500, /sshBypassUsers/],
    ['alice', 1001, /does not match --only-users-matching/],
  ];
  for (const [user, uid, why] of cases) {
    it(`refuses ${user} (uid ${uid})`, async () => {
      assert.throws(() => assertMayTouch(user, uid, guard), why);
      await assert.rejects(sweepUser({ user, uid, entryUids: [], killWaitMs: 0, timeoutMs: 0, guard, log }), why);
      assert.throws(() => signalUser(user, uid, 'SIGUSR1', guard), why);
    });
  }
  it('lets a kiwitest user through', () => {
    assert.doesNotThrow(() => assertMayTouch('kiwitest-x', 1500, guard));
  });
});

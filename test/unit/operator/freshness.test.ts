// Liveness from values: a key is alive while its mod_revision keeps changing, by the observer's clock.
import assert from 'node:assert/strict';
import { Freshness } from '../../../operator/src/election/freshness.js';
import { DEFAULT_HEARTBEAT_TTL_SECONDS, MAX_HEARTBEAT_TTL_SECONDS, heartbeatTtlMs, heartbeatValue } from '../../../crds/api/heartbeat.js';

describe('Freshness', () => {
  it('is fresh for a TTL after a change, stale after; a same-revision sighting does not rejuvenate', () => {
    const f = new Freshness<string>();
    assert.equal(f.fresh('k', 0, 1000), false, 'never seen');
    assert.equal(f.observe('k', 5, 0), true);
    assert.equal(f.fresh('k', 1000, 1000), true);
    assert.equal(f.observe('k', 5, 900), false, 'the same revision again (a kept-alive lease, a re-read)');
    assert.equal(f.fresh('k', 1001, 1000), false);
    assert.equal(f.observe('k', 4, 1100), false, 'an older revision');
    assert.equal(f.fresh('k', 1100, 1000), false);
    assert.equal(f.observe('k', 6, 1200), true);
    assert.equal(f.fresh('k', 2200, 1000), true);
    f.forget('k');
    assert.equal(f.fresh('k', 2200, 1000), false);
  });
});

describe('heartbeat value', () => {
  it('carries its TTL; anything unreadable or out of range gets the default', () => {
    assert.equal(heartbeatTtlMs(JSON.stringify(heartbeatValue(0, 'v', 7))), 7000);
    const dflt = DEFAULT_HEARTBEAT_TTL_SECONDS * 1000;
    for (const raw of ['', 'not json', 'null', '[]', '{"ttlSeconds":"9"}', '{"ttlSeconds":0}', '{"ttlSeconds":-1}', `{"ttlSeconds":${MAX_HEARTBEAT_TTL_SECONDS + 1}}`, '{"ttlSeconds":1e999}', '{}']) {
      assert.equal(heartbeatTtlMs(Buffer.from(raw)), dflt, raw);
    }
    assert.equal(heartbeatTtlMs(undefined), dflt);
  });
});

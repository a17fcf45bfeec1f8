// Property tests of the small parsers users type into: durations, times, label selectors.
// Any string either parses or is refused with an InvalidError; what parses is consistent
// (formatDuration round-trips, matches() is total and agrees with the requirement's meaning).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDuration, formatDuration, MAX_DURATION_SECONDS } from '../../../crds/api/duration.js';
import { parseTime } from '../../../crds/api/time.js';
import { parseSelector, matches } from '../../../crds/api/selector.js';
import { InvalidError } from '../../../crds/api/errors.js';
import { timed } from './gen.js';

/** Calls fn; returns its value, or undefined when it threw an InvalidError; rethrows anything else. */
function parsesOrInvalid<T>(fn: () => T, input: unknown): T | undefined {
  let out: T | undefined;
  const ms = timed(() => {
    try {
      out = fn();
    } catch (e) {
      if (!(e instanceof InvalidError)) throw new Error(`not an InvalidError for ${JSON.stringify(input)}: ${(e as Error)?.stack ?? e}`);
    }
  });
  assert.ok(ms < 200, `took ${ms} ms for ${JSON.stringify(input)}`);
  return out;
}

const durationish = fc.array(fc.constantFrom(...'0123456789dhms:- .+e'.split(''), '99999999999999999999', '1h', '30m', '1-', '00:'), { maxLength: 12 }).map((a) => a.join(''));
const timeish = fc.oneof(
  fc.array(fc.constantFrom(...'0123456789:-+TZ .'.split(''), 'now', 'now+', 'tomorrow ', 'today ', '2026-', '14:00', '1h', 'monday ', 'next '), { maxLength: 10 }).map((a) => a.join('')),
  fc.string({ maxLength: 40 }),
);
const labelKey = fc.constantFrom('gpu', 'zone', 'a.b/c', 'x', 'kiwi.dev/pool');
const labelValue = fc.constantFrom('a100', 'v100', 'eu', '', 'x');
const selectorish = fc.oneof(
  fc.array(fc.oneof(labelKey, labelValue, fc.constantFrom('=', '==', '!=', '!', ' in ', ' notin ', '(', ')', ',', ' ', '  ')), { maxLength: 14 }).map((a) => a.join('')),
  fc.string({ maxLength: 60 }),
);

describe('fuzz: durations, times and label selectors', function () {
  this.timeout(30_000);

  it('parseDuration: a positive whole number of seconds within the maximum, or InvalidError (4,000 runs)', () => {
    fc.assert(
      fc.property(fc.oneof(durationish, fc.string({ maxLength: 30 })), (s) => {
        const n = parsesOrInvalid(() => parseDuration(s), s);
        if (n !== undefined) assert.ok(Number.isInteger(n) && n > 0 && n <= MAX_DURATION_SECONDS, `${s} -> ${n}`);
      }),
      { numRuns: 4000 },
    );
    fc.assert(fc.property(fc.oneof(fc.double(), fc.integer()), (n) => void parsesOrInvalid(() => parseDuration(n), n)), { numRuns: 500 });
  });

  it('formatDuration round-trips through parseDuration (2,000 runs)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: MAX_DURATION_SECONDS }), (n) => assert.equal(parseDuration(formatDuration(n)), n)), { numRuns: 2000 });
  });

  it('parseTime: a finite instant, or InvalidError (3,000 runs)', () => {
    const now = Date.UTC(2026, 4, 1, 12, 0, 0);
    fc.assert(
      fc.property(timeish, fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata'), (s, zone) => {
        const t = parsesOrInvalid(() => parseTime(s, now, zone), s);
        if (t !== undefined) assert.ok(Number.isFinite(t), `${s} -> ${t}`);
      }),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 86400 }), (n) => assert.equal(parseTime(`now+${formatDuration(n)}`, now, 'UTC'), now + n * 1000)), { numRuns: 500 });
  });

  it('parseSelector: requirements or InvalidError; matches() is total and means what it says (4,000 runs)', () => {
    fc.assert(
      fc.property(selectorish, fc.dictionary(labelKey, labelValue, { maxKeys: 4 }), (s, labels) => {
        const reqs = parsesOrInvalid(() => parseSelector(s), s);
        if (!reqs) return;
        const m = matches(reqs, labels);
        assert.equal(typeof m, 'boolean');
        assert.equal(matches(reqs, undefined), matches(reqs, {}));
        // each requirement, one by one, means what it says
        for (const r of reqs) {
          const has = Object.prototype.hasOwnProperty.call(labels, r.key);
          const one = matches([r], labels);
          if (r.op === 'exists') assert.equal(one, has);
          if (r.op === '!exists') assert.equal(one, !has);
          if (r.op === 'in') assert.equal(one, has && r.values.includes(labels[r.key]));
          if (r.op === 'notin') assert.equal(one, !has || !r.values.includes(labels[r.key]));
        }
        assert.equal(m, reqs.every((r) => matches([r], labels)));
      }),
      { numRuns: 4000 },
    );
    assert.throws(() => parseSelector('a='.repeat(5000)), InvalidError);
  });
});

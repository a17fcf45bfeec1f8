import assert from 'node:assert/strict';
import { parseDuration, formatDuration, shortDuration, DurationError } from '../../../crds/api/duration.js';

describe('parseDuration', () => {
  const ok: [string | number, number][] = [
    ['90', 90], [90, 90], ['90s', 90], ['45m', 2700], ['2h30m', 9000], ['1d', 86400], ['1d12h', 129600],
    ['1:30:00', 5400], ['1:00:00:00', 86400], ['0:01:30:00', 5400], ['30:00', 1800], ['1-00:00:00', 86400], ['2-12:30:15', 2 * 86400 + 12 * 3600 + 30 * 60 + 15],
    [' 2h ', 7200], ['366d', 366 * 86400],
  ];
  for (const [input, want] of ok) it(`${JSON.stringify(input)} -> ${want}`, () => assert.equal(parseDuration(input), want));

  const bad: [string | number, RegExp][] = [
    ['-5', /negative/], [-5, /positive/], ['0', /positive/], [0, /positive/], ['', /empty/], ['soon', /not a duration/],
    ['9999999h', /longest/], ['367d', /longest/], ['1:75:00', /below 60/], ['30m2h', /not a duration/], [1.5, /whole number/],
    ['2h 30m', /not a duration/], [Number.NaN, /whole number/],
  ];
  for (const [input, re] of bad)
    it(`refuses ${JSON.stringify(input)}`, () => assert.throws(() => parseDuration(input), (e: Error) => e instanceof DurationError && re.test(e.message)));
});

describe('formatDuration / shortDuration', () => {
  it('formats for humans', () => {
    assert.equal(formatDuration(5400), '1h30m');
    assert.equal(formatDuration(90), '1m30s');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(86400 + 1), '1d1s');
    assert.equal(shortDuration(45), '45s');
    assert.equal(shortDuration(725), '12m');
    assert.equal(shortDuration(3 * 3600 + 4 * 60), '3h4m');
    assert.equal(shortDuration(2 * 86400 + 5 * 3600), '2d5h');
    assert.equal(shortDuration(-3), '0s');
  });
  it('round-trips: parse(format(n)) == n', () => {
    for (const n of [1, 59, 60, 61, 3599, 3600, 86399, 86400, 90061, 31622400]) assert.equal(parseDuration(formatDuration(n)), n);
  });
});

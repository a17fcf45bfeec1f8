import assert from 'node:assert/strict';
import { parseTime, zonedTime, zoneOffsetMs } from '../../../crds/api/time.js';

// 2026-03-28 10:30 UTC, a Saturday; Europe/Paris is UTC+1 until 2026-03-29 02:00, then UTC+2.
const NOW = Date.parse('2026-03-28T10:30:00Z');

describe('parseTime', () => {
  const cases: [string, string, string][] = [
    ['now', 'UTC', '2026-03-28T10:30:00.000Z'],
    ['now+30m', 'UTC', '2026-03-28T11:00:00.000Z'],
    ['2026-05-01T14:00:00Z', 'UTC', '2026-05-01T14:00:00.000Z'],
    ['2026-05-01T14:00:00+02:00', 'UTC', '2026-05-01T12:00:00.000Z'],
    ['14:00', 'UTC', '2026-03-28T14:00:00.000Z'],
    ['09:00', 'UTC', '2026-03-29T09:00:00.000Z'], // passed today: tomorrow
    ['14:00', 'Europe/Paris', '2026-03-28T13:00:00.000Z'],
    ['tomorrow 09:00', 'Europe/Paris', '2026-03-29T07:00:00.000Z'], // after the DST change
    ['today 23:00', 'America/New_York', '2026-03-29T03:00:00.000Z'],
    ['2026-12-01 14:00', 'Europe/Paris', '2026-12-01T13:00:00.000Z'],
    ['2026-12-01', 'UTC', '2026-12-01T00:00:00.000Z'],
  ];
  for (const [text, zone, want] of cases)
    it(`"${text}" in ${zone} -> ${want}`, () => assert.equal(new Date(parseTime(text, NOW, zone)).toISOString(), want));

  for (const text of ['25:00', 'yesterday', '2026-02-30', 'now+soon', '14h', ''])
    it(`refuses "${text}"`, () => assert.throws(() => parseTime(text, NOW, 'UTC'), /time ".*":/));
  it('refuses an unknown zone', () => assert.throws(() => parseTime('14:00', NOW, 'Mars/Base'), /time zone "Mars\/Base" is not known/));
});

describe('zones', () => {
  it('knows offsets across DST', () => {
    assert.equal(zoneOffsetMs(Date.parse('2026-01-15T12:00:00Z'), 'Europe/Paris'), 3600_000);
    assert.equal(zoneOffsetMs(Date.parse('2026-07-15T12:00:00Z'), 'Europe/Paris'), 7200_000);
    assert.equal(new Date(zonedTime(2026, 7, 15, 9, 0, 'Europe/Paris')).toISOString(), '2026-07-15T07:00:00.000Z');
  });
});

// Duration parsing: pure. Accepted forms (DESIGN.md): plain seconds (90), units in
// descending order (90s, 45m, 2h30m, 1d12h), clock forms M:SS, H:MM:SS, Slurm's D-HH:MM:SS
// and the original Kiwi's D:HH:MM:SS.

import { InvalidError } from './errors.js';

export const MAX_DURATION_SECONDS = 366 * 24 * 3600;
/** The longest retention (ClusterConfig spec.retention): 100 years. */
export const MAX_RETENTION_SECONDS = 36525 * 24 * 3600;

const UNITS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };
const UNIT_FORM = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const CLOCK_FORM = /^(?:(\d+)-)?(\d+)(?::(\d{1,2}))(?::(\d{1,2}))?$/;

/** A duration that cannot be read: invalid input (exit code 2). */
export class DurationError extends InvalidError {}

/** Parses a duration into whole seconds, or throws DurationError saying what is wrong. */
export function parseDuration(input: string | number, max = MAX_DURATION_SECONDS): number {
  const checkSeconds = (n: number, text: string) => checkRange(n, text, max);
  if (typeof input === 'number') return checkSeconds(input, String(input));
  const text = input.trim();
  if (text === '') throw new DurationError('empty duration: use 90m, 2h30m, 1:30:00 or seconds');
  if (text.startsWith('-')) throw new DurationError(`duration ${JSON.stringify(input)} is negative: a booking needs a positive duration`);
  if (/^\d+$/.test(text)) return checkSeconds(Number(text), input);
  const u = UNIT_FORM.exec(text);
  if (u && text !== '') {
    const [, d, h, m, s] = u;
    return checkSeconds(
      Number(d ?? 0) * UNITS.d + Number(h ?? 0) * UNITS.h + Number(m ?? 0) * UNITS.m + Number(s ?? 0),
      input,
    );
  }
  const old = /^(\d+):(\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(text);
  if (old) return parseDuration(`${old[1]}-${old[2]}:${old[3]}:${old[4]}`, max);
  const c = CLOCK_FORM.exec(text);
  if (c) {
    const [, days, a, b, cc] = c;
    // H:MM:SS when three parts, M:SS when two (as Slurm reads them)
    const [h, m, s] = cc !== undefined ? [Number(a), Number(b), Number(cc)] : [0, Number(a), Number(b)];
    if ((cc !== undefined && m > 59) || s > 59)
      throw new DurationError(`duration ${JSON.stringify(input)}: minutes and seconds must be below 60`);
    return checkSeconds(Number(days ?? 0) * 86400 + h * 3600 + m * 60 + s, input);
  }
  throw new DurationError(`${JSON.stringify(input)} is not a duration: use 90m, 2h30m, 1:30:00, 1-00:00:00 or seconds`);
}

function checkRange(n: number, input: string, max: number): number {
  if (!Number.isFinite(n) || !Number.isInteger(n)) throw new DurationError(`duration ${JSON.stringify(input)} must be a whole number of seconds`);
  if (n <= 0) throw new DurationError(`duration ${JSON.stringify(input)} must be positive`);
  if (n > max) throw new DurationError(`duration ${JSON.stringify(input)} is longer than the longest Kiwi accepts here (${formatDuration(max)})`);
  return n;
}

/** 5400 -> "1h30m"; 90 -> "1m30s"; 0 -> "0s". For humans, not for parsing back. */
export function formatDuration(seconds: number): string {
  let s = Math.max(0, Math.round(seconds));
  if (s === 0) return '0s';
  let out = '';
  for (const [u, n] of Object.entries(UNITS)) {
    if (s >= n) {
      out += `${Math.floor(s / n)}${u}`;
      s %= n;
    }
  }
  return out;
}

/** A short age or remaining time in kubectl's style: 45s, 12m, 3h4m, 2d5h. */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${s % 3600 >= 60 ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${s % 86400 >= 3600 ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

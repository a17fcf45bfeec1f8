// Pure: what `kiwictl extend -t` asks for. "+30m" adds, "-15m" takes off, "3h" sets a new total;
// what that does to a booking is planExtend's (crds/api/extend.ts, shared with kiwi-web).
import { parseDuration } from '../../../../crds/api/duration.js';
import { InvalidError } from '../../../../crds/api/errors.js';
import type { ExtendChange } from '../../../../crds/api/extend.js';

export function parseExtend(text: string | undefined): ExtendChange {
  const t = (text ?? '').trim();
  if (!t) throw new InvalidError('extend needs -t: +30m to add, -15m to take off, or 3h for a new total');
  const sign = t[0] === '+' ? 1 : t[0] === '-' ? -1 : 0;
  let s: number;
  try {
    s = parseDuration(sign ? t.slice(1) : t);
  } catch (e) {
    throw new InvalidError(`-t ${t}: ${(e as Error).message.replace(/^duration /, '')}; write +30m to add, -15m to take off, or 3h for a new total`);
  }
  return sign ? { kind: 'delta', seconds: sign * s } : { kind: 'total', seconds: s };
}

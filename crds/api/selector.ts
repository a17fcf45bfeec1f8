// Label selectors as kubectl takes them: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a.
// Pure: parse once, match many.
import { InvalidError } from './errors.js';

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export function isLabelKey(k: string): boolean {
  return k.length <= 316 && KEY.test(k);
}
export function isLabelValue(v: string): boolean {
  return v.length <= 63 && VALUE.test(v);
}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

export function parseSelector(text: string): Requirement[] {
  if (text.length > 4096) throw new InvalidError('label selector is longer than 4096 characters');
  if (text.trim() === '') return [];
  const bad = (part: string, why: string) => new InvalidError(`label selector "${text}": "${part.trim()}" ${why}`);
  const check = (part: string, key: string, values: string[] = []) => {
    if (!isLabelKey(key)) throw bad(part, `has an invalid key "${key}"`);
    for (const v of values) if (!isLabelValue(v)) throw bad(part, `has an invalid value "${v}"`);
  };
  return splitTop(text).map((part) => {
    const p = part.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(p))) {
      const [, key, op, value] = m;
      check(part, key, [value]);
      return { key, op: op === '!=' ? 'notin' : 'in', values: [value] };
    }
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(p))) {
      const [, key, op, list] = m;
      const values = list.split(',').map((v) => v.trim());
      check(part, key, values);
      return { key, op: op as 'in' | 'notin', values };
    }
    if ((m = /^!\s*(\S+)$/.exec(p))) {
      check(part, m[1]);
      return { key: m[1], op: '!exists' };
    }
    if (/^\S+$/.test(p) && !/[=!()]/.test(p)) {
      check(part, p);
      return { key: p, op: 'exists' };
    }
    throw bad(part, 'is not a requirement: use key=value, key!=value, key in (a,b), key notin (a), key or !key');
  });
}

export function matches(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
    }
  });
}

/** A nodeSelector map ({gpu: "a100"}) as requirements. */
export function fromMap(m: Record<string, string> | undefined): Requirement[] {
  return Object.entries(m ?? {}).map(([key, v]) => ({ key, op: 'in', values: [v] }));
}

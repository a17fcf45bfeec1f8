// Phase "diff": the actions, what differs from what is stored. Each booking's action carries
// the final entries it has on every node it touches; orphans' entries are removed. And when
// next to look again: the first planned start or end after now.
import type { CalendarEntry } from '../../../../crds/api/pure.js';
import type { BookingAction, CalendarChange } from '../types.js';
import { iso, pauseDue, type PassState } from '../pass.js';

export function* diff(s: PassState): Generator<void, void, void> {
  for (const [key, d] of s.desired) {
    if (pauseDue(s)) yield;
    const v = d.view;
    const cur = s.held.get(key) ?? new Map<string, CalendarEntry[]>();
    const stale = s.staleKeys.get(key);
    const nodes = new Set([...cur.keys(), ...d.entries.keys(), ...(stale ?? [])]);
    const calendar: CalendarChange[] = [];
    for (const n of [...nodes].sort()) { // by name: the same actions whatever order the calendars came in
      const want = d.entries.get(n) ?? [];
      if (!sameEntries(cur.get(n) ?? [], want) || stale?.has(n)) calendar.push({ node: n, entries: want });
    }
    // Most bookings keep the very status object they have: no need to compare it.
    const stored = s.byKey.get(key)?.booking.status;
    const statusChanged = d.status !== stored && !sameStored(d.status, stored ?? {});
    if (!statusChanged && calendar.length === 0 && d.events.length === 0) continue;
    const a: BookingAction = {
      kind: 'booking', key, namespace: v.booking.metadata.namespace!, name: v.booking.metadata.name!,
      specRevision: v.specRevision, statusRevision: v.statusRevision,
      status: statusChanged ? d.status : undefined, calendar, events: d.events, transition: d.transition || (calendar.length ? 'Calendar' : 'Status'),
    };
    s.actions.push(a);
  }
  for (const [key, list] of s.orphans) {
    const [namespace, name] = key.split('/');
    for (const o of list) {
      const nodes = [...o.nodes].sort();
      s.actions.push({
        kind: 'booking', key, namespace, name, specRevision: 0, statusRevision: 0,
        calendar: nodes.map((n) => ({ node: n, entries: [], onlyUid: o.uid })),
        events: [{ time: iso(s.now), kind: 'Booking', namespace, name, type: 'Normal', reason: 'Cancelled', message: `deleted; its entries on ${nodes.join(', ')} were removed`, source: s.source }],
        transition: 'Cancelled',
      });
    }
  }
}

export function* wake(s: PassState): Generator<void, void, void> {
  for (const es of s.calendars.values()) {
    for (const e of es) {
      for (const t of [e.start, e.end]) if (t > s.now && (s.nextWake === undefined || t < s.nextWake)) s.nextWake = t;
    }
  }
}

function sameEntries(a: CalendarEntry[], b: CalendarEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.start !== y.start || x.end !== y.end || x.uid !== y.uid || x.booking !== y.booking || x.user !== y.user) return false;
    if (x.endSignal?.signal !== y.endSignal?.signal || x.endSignal?.before !== y.endSignal?.before) return false;
    if (x.idle?.after !== y.idle?.after || x.idle?.warnBefore !== y.idle?.warnBefore || x.idle?.cpuPercent !== y.idle?.cpuPercent) return false;
  }
  return true;
}

/** Deep equality of two values as they would be stored (JSON): a key whose value is undefined is no key. */
export function sameStored(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameStored(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const kx = Object.keys(x).filter((k) => x[k] !== undefined);
  const ky = Object.keys(y).filter((k) => y[k] !== undefined);
  return kx.length === ky.length && kx.every((k) => Object.prototype.hasOwnProperty.call(y, k) && sameStored(x[k], y[k]));
}

// etcd's whole history of Kiwi's keys, replayed revision by revision from revision 1, and the
// checks that must hold at every revision: no calendar overlaps, never two Active bookings on
// one node, a begun slot is never moved (its start and nodes stay while it is Active, and it
// never goes back to Pending). The fault suite and the operator's integration tests share it.
import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { BookingStatus, Calendar } from '../../crds/api/index.js';
import { keys } from '../../crds/api/index.js';
import { findOverlap } from '../../operator/src/plan/calendar.js';

export interface Change {
  type: 'put' | 'delete';
  key: string;
  value?: string;
}
export interface Revision {
  revision: number;
  changes: Change[];
}

/** Every revision that touched `prefix`, from revision 1 to now, in order. */
export async function etcdHistory(client: Etcd3, prefix = '/kiwi/'): Promise<Revision[]> {
  // The end is a mark we write ourselves: once its put arrives, everything before it has.
  const mark = `${prefix}~history-end/${randomUUID()}`;
  const byRev = new Map<number, Change[]>();
  const w = await client.watch().prefix(prefix).startRevision('1').create();
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`etcd history of ${prefix}: the end mark never came`)), 30_000);
      const add = (type: Change['type'], kv: { key: Buffer; value: Buffer; mod_revision: string }) => {
        const key = kv.key.toString();
        if (key === mark) {
          clearTimeout(t);
          resolve();
          return;
        }
        const r = Number(kv.mod_revision);
        const l = byRev.get(r) ?? [];
        l.push({ type, key, ...(type === 'put' ? { value: kv.value.toString() } : {}) });
        byRev.set(r, l);
      };
      w.on('put', (kv) => add('put', kv));
      w.on('delete', (kv) => add('delete', kv));
      w.on('error', reject);
      client.put(mark).value('1').exec().catch(reject);
    });
  } finally {
    await w.cancel();
    await client.delete().key(mark).exec().catch(() => undefined);
  }
  return [...byRev].sort(([a], [b]) => a - b).map(([revision, changes]) => ({ revision, changes }));
}

export interface HistoryReport {
  revisions: number;
  /** Revisions at which some node had two Active bookings. */
  twoActive: string[];
  overlaps: string[];
  /** A begun slot moved: an Active booking's start or nodes changed, or it went back to Pending. */
  moved: string[];
  /** The most bookings Active at one revision (shows the check had something to look at). */
  maxActive: number;
}

/** Replays the history and checks the invariants at every revision. */
export function checkHistory(revs: Revision[]): HistoryReport {
  const statusPrefix = keys.statusPrefix('Booking');
  const calPrefix = keys.calendarPrefix();
  const status = new Map<string, BookingStatus>();
  /** booking -> the start and nodes it became Active with */
  const begun = new Map<string, { start: string; nodes: string }>();
  const report: HistoryReport = { revisions: revs.length, twoActive: [], overlaps: [], moved: [], maxActive: 0 };
  for (const { revision, changes } of revs) {
    let statusChanged = false;
    for (const c of changes) {
      if (c.key.startsWith(statusPrefix)) {
        const k = c.key.slice(statusPrefix.length);
        statusChanged = true;
        if (c.type === 'delete') {
          status.delete(k);
          begun.delete(k);
          continue;
        }
        const st = JSON.parse(c.value!) as BookingStatus;
        status.set(k, st);
        const was = begun.get(k);
        if (st.phase === 'Active') {
          const now = { start: st.startTime ?? '', nodes: [...(st.nodes ?? [])].sort().join(',') };
          if (was && (was.start !== now.start || was.nodes !== now.nodes)) report.moved.push(`${k}@${revision}: Active from ${was.start} on ${was.nodes}, then from ${now.start} on ${now.nodes}`);
          if (!was) begun.set(k, now);
        } else if (was && st.phase === 'Pending') report.moved.push(`${k}@${revision}: Active, then Pending again (${st.startTime})`);
      } else if (c.key.startsWith(calPrefix) && c.type === 'put') {
        const cal = JSON.parse(c.value!) as Calendar;
        const o = findOverlap(cal.entries);
        if (o) report.overlaps.push(`${c.key}@${revision}: ${o[0].booking} and ${o[1].booking}`);
        for (const e of cal.entries) {
          const b = begun.get(e.booking);
          if (b && status.get(e.booking)?.phase === 'Active' && e.start !== Date.parse(b.start))
            report.moved.push(`${c.key}@${revision}: the entry of Active ${e.booking} moved to start ${new Date(e.start).toISOString()} (began ${b.start})`);
        }
      }
    }
    if (!statusChanged) continue;
    const onNode = new Map<string, string[]>();
    let active = 0;
    for (const [k, st] of status) {
      if (st.phase !== 'Active') continue;
      active++;
      for (const n of st.nodes ?? []) onNode.set(n, [...(onNode.get(n) ?? []), k]);
    }
    report.maxActive = Math.max(report.maxActive, active);
    for (const [n, ks] of onNode) if (ks.length > 1) report.twoActive.push(`${n}@${revision}: ${ks.join(' and ')}`);
  }
  return report;
}

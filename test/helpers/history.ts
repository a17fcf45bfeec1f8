// etcd's whole history of Kiwi's keys, replayed revision by revision from revision 1, and the
// checks that must hold at every revision: no calendar overlaps, never two Active bookings on
// one node, a begun slot is never moved (its start and nodes stay while it is Active, and it
// never goes back to Pending; with a RevisionClock also: a calendar entry whose start had
// passed when a revision committed is not moved later nor re-placed after it was removed), no
// acknowledged write missing, no two records (status start..end) of one node overlapping.
// The fault suite and the operator's integration tests share it.
import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { Booking, BookingStatus, Calendar, CalendarEntry, NodeStatus } from '../../crds/api/index.js';
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
  /** With a clock: calendar entries that had begun when a later revision moved or re-placed them. */
  begunMoved: string[];
  /** With a clock: how many entries were seen begun (shows the check had something to look at). */
  begunSeen: number;
  /** Every revision at which a Node's status turned NotReady. */
  notReady: { node: string; revision: number }[];
}

/**
 * Bounds on when each revision committed, from a writer of our own (a clock key put every
 * few ms): a revision after a clock put committed after that put was sent; a revision before
 * one committed before that put was acknowledged. Faults only loosen the bounds.
 */
export class RevisionClock {
  private readonly samples: { revision: number; sentAt: number; ackedAt: number }[] = [];
  add(revision: number, sentAt: number, ackedAt: number): void {
    this.samples.push({ revision, sentAt, ackedAt });
    this.samples.sort((a, b) => a.revision - b.revision);
  }
  /** A time the revision certainly committed after (0: unknown). */
  lower(revision: number): number {
    let t = 0;
    for (const s of this.samples) if (s.revision < revision) t = Math.max(t, s.sentAt);
    return t;
  }
  /** A time the revision certainly committed before (Infinity: unknown). */
  upper(revision: number): number {
    let t = Infinity;
    for (const s of this.samples) if (s.revision > revision) t = Math.min(t, s.ackedAt);
    return t;
  }
}

/** Keeps `clock` fed: puts `key` every `everyMs` until stop() (a put that fails is skipped). */
export function runRevisionClock(client: Etcd3, clock: RevisionClock, key = '/kiwitest-clock', everyMs = 50): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const sentAt = Date.now();
      const r = await client.put(key).value(String(sentAt)).exec().catch(() => undefined);
      if (r) clock.add(Number(r.header.revision), sentAt, Date.now());
      await new Promise((res) => setTimeout(res, everyMs));
    }
  })();
  return { stop: async () => { stopped = true; await loop; } };
}

/** Replays the history and checks the invariants at every revision. */
export function checkHistory(revs: Revision[], opts: { clock?: RevisionClock } = {}): HistoryReport {
  const statusPrefix = keys.statusPrefix('Booking');
  const nodeStatusPrefix = keys.statusPrefix('Node');
  const calPrefix = keys.calendarPrefix();
  const status = new Map<string, BookingStatus>();
  const nodePhase = new Map<string, string | undefined>();
  /** booking -> the start and nodes it became Active with */
  const begun = new Map<string, { start: string; nodes: string }>();
  /** calendar key -> its entries now */
  const calendars = new Map<string, CalendarEntry[]>();
  /** booking uid -> where its begun slot was removed (it ended there and must not come back) */
  const ended = new Map<string, string>();
  const begunIds = new Set<string>();
  const report: HistoryReport = { revisions: revs.length, twoActive: [], overlaps: [], moved: [], maxActive: 0, begunMoved: [], begunSeen: 0, notReady: [] };
  const clock = opts.clock;
  const id = (e: CalendarEntry) => `${e.booking}#${e.uid}`;
  /** With a clock: the begun entries of a calendar value that the next value moves or drops. */
  const calendarChange = (key: string, revision: number, next: CalendarEntry[]) => {
    if (!clock) return;
    const at = clock.lower(revision);
    const prev = calendars.get(key) ?? [];
    for (const e of prev) {
      if (e.start >= at) continue; // not begun (as far as we can tell) when this revision committed
      if (!begunIds.has(id(e))) {
        begunIds.add(id(e));
        report.begunSeen++;
      }
      const n = next.find((x) => id(x) === id(e));
      if (!n) ended.set(id(e), `${key}@${revision}`);
      else if (n.start > e.start) report.begunMoved.push(`${key}@${revision}: ${e.booking} had begun at ${new Date(e.start).toISOString()} (the revision committed after ${new Date(at).toISOString()}) and was moved to start ${new Date(n.start).toISOString()}`);
    }
    for (const n of next) {
      const gone = ended.get(id(n));
      if (gone && !prev.some((e) => id(e) === id(n))) report.begunMoved.push(`${key}@${revision}: ${n.booking}'s begun slot was removed at ${gone} and placed again, from ${new Date(n.start).toISOString()}`);
    }
    calendars.set(key, next);
  };
  for (const { revision, changes } of revs) {
    let statusChanged = false;
    for (const c of changes) {
      if (c.key.startsWith(nodeStatusPrefix)) {
        const node = c.key.slice(nodeStatusPrefix.length);
        const phase = c.type === 'put' ? (JSON.parse(c.value!) as NodeStatus).phase : undefined;
        if (phase === 'NotReady' && nodePhase.get(node) !== 'NotReady') report.notReady.push({ node, revision });
        nodePhase.set(node, phase);
      } else if (c.key.startsWith(calPrefix) && c.type === 'delete') {
        calendarChange(c.key, revision, []);
      } else if (c.key.startsWith(statusPrefix)) {
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
        calendarChange(c.key, revision, cal.entries);
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

/** Acknowledged writes (a key and the revision etcd answered) that the history does not hold. */
export function missingWrites(revs: Revision[], acked: { key: string; revision: number }[]): string[] {
  const at = new Map(revs.map((r) => [r.revision, r.changes]));
  return acked.filter((a) => !at.get(a.revision)?.some((c) => c.type === 'put' && c.key === a.key)).map((a) => `${a.key}@${a.revision}`);
}

/**
 * Records that contradict each other: two bookings whose status says they held one node at
 * overlapping times (startTime..endTime of Active and Expired bookings; Pending times are plans).
 */
export function overlappingRecords(bookings: Booking[]): string[] {
  const byNode = new Map<string, { b: string; start: number; end: number }[]>();
  for (const b of bookings) {
    const st = b.status;
    if (!st?.startTime || !st.endTime || (st.phase !== 'Active' && st.phase !== 'Expired')) continue;
    const r = { b: `${b.metadata.namespace}/${b.metadata.name}`, start: Date.parse(st.startTime), end: Date.parse(st.endTime) };
    if (r.end <= r.start) continue; // held for no time at all
    for (const n of st.nodes ?? []) byNode.set(n, [...(byNode.get(n) ?? []), r]);
  }
  const out: string[] = [];
  for (const [n, rs] of byNode) {
    rs.sort((x, y) => x.start - y.start);
    let last = rs[0];
    for (const r of rs.slice(1)) {
      if (r.start < last.end) out.push(`${n}: ${last.b} held it until ${new Date(last.end).toISOString()}, ${r.b} from ${new Date(r.start).toISOString()}`);
      if (r.end > last.end) last = r;
    }
  }
  return out;
}

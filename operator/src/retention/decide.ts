// What retention decides, pure: which Expired bookings still need their usage record, which
// may go (their record exists and their retention has passed), which event and record keys are
// past theirs, and how far etcd's history may be compacted. The controller beside it does the I/O.
import type { Retention, UsageRecord } from '../../../crds/api/index.js';
import { filedAt, keys, usageKey, usageRecordOf } from '../../../crds/api/index.js';
import type { BookingView } from '../plan/index.js';

export interface Due {
  /** Records to write (create-if-absent), by key. */
  records: Map<string, UsageRecord>;
  /** Bookings whose record exists and whose retention has passed, with their record's key. */
  deletions: { view: BookingView; recordKey: string }[];
  /** Keys of the records of every Expired booking seen (the rest of what is known can be forgotten). */
  seen: Set<string>;
}

/**
 * One look over some bookings at `now`: every Expired booking needs a record until
 * `recorded(key)` says it exists; then, once its filing time plus retention.expiredBookings has
 * passed, it may be deleted. A booking is never due for deletion before its record is known.
 */
export function dueOf(views: Iterable<BookingView>, recorded: (recordKey: string) => boolean, retention: Retention, now: number, into?: Due): Due {
  const due: Due = into ?? { records: new Map(), deletions: [], seen: new Set() };
  for (const v of views) {
    const rec = usageRecordOf(v.booking, v.createRevision);
    if (!rec) continue;
    const key = usageKey(rec);
    due.seen.add(key);
    if (!recorded(key)) {
      due.records.set(key, rec);
      continue;
    }
    if (Date.parse(filedAt(v.booking)!) + retention.expiredBookings * 1000 <= now) due.deletions.push({ view: v, recordKey: key });
  }
  return due;
}

/**
 * When an event (its key: .../<time>-<seq>) was recorded, epoch ms; undefined when the key does
 * not say (then it is left alone: retention deletes only what it can date).
 */
export function eventTime(key: string): number | undefined {
  if (!key.startsWith(keys.eventsRoot())) return undefined;
  const last = key.slice(key.lastIndexOf('/') + 1);
  const dash = last.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const t = Date.parse(last.slice(0, dash));
  return Number.isFinite(t) ? t : undefined;
}

/** The key below which every usage record is older than its retention at `now`. */
export function usageCutoffKey(retention: Retention, now: number): string {
  return keys.usagePrefix() + new Date(now - retention.usageRecords * 1000).toISOString();
}

export interface RevisionSample {
  at: number;
  revision: number;
}

/**
 * The revision to compact etcd to at `now`: the newest sampled revision at least `history`
 * seconds old, if it is beyond what was compacted already; undefined: nothing to do. Samples
 * are the leader's own (time, revision) observations, oldest first; a new leader has none, so
 * it waits a whole history before its first compaction.
 */
export function compactionTarget(samples: RevisionSample[], now: number, historySeconds: number, compactedTo: number): number | undefined {
  let target: number | undefined;
  for (const s of samples) {
    if (s.at > now - historySeconds * 1000) break;
    target = s.revision;
  }
  return target !== undefined && target > compactedTo ? target : undefined;
}

/** Samples still worth keeping: the newest one old enough to compact to, and all younger. */
export function pruneSamples(samples: RevisionSample[], now: number, historySeconds: number): RevisionSample[] {
  let firstOld = -1;
  for (let i = 0; i < samples.length; i++) if (samples[i].at <= now - historySeconds * 1000) firstOld = i;
  return firstOld > 0 ? samples.slice(firstOld) : samples;
}

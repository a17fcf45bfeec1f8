// The usage record a finished booking leaves behind (crds/usagerecord.yaml): what its status
// said when it became Expired, in a form that outlives the booking. Pure, so that the operator
// that writes records and whatever reads them (kiwictl, accounting) agree on names and keys.
import type { Booking, UsageRecord } from './types.js';
import { API_VERSION } from './types.js';
import { keys } from './keys.js';

/**
 * The record of an Expired booking created at etcd revision `createRevision`, or undefined for
 * one that is not Expired (or too broken to say who and when). Deterministic: any operator that
 * sees the same booking makes the same record name, key and spec, so create-if-absent on the
 * key writes it once across failovers.
 */
export function usageRecordOf(b: Booking, createRevision: number): UsageRecord | undefined {
  const st = b.status;
  if (st?.phase !== 'Expired' || !b.metadata?.name || !b.metadata.namespace || !createRevision) return undefined;
  const filed = filedAt(b);
  if (filed === undefined) return undefined;
  const start = Date.parse(st.startTime ?? '');
  const end = Date.parse(st.endTime ?? '');
  const held = Number.isFinite(start) && Number.isFinite(end) && end >= start;
  const nodes = held && Array.isArray(st.nodes) ? st.nodes.filter((n) => typeof n === 'string') : [];
  return {
    apiVersion: API_VERSION,
    kind: 'UsageRecord',
    metadata: { name: usageRecordName(b.metadata.name, createRevision), namespace: b.metadata.namespace },
    spec: {
      booking: { name: b.metadata.name, uid: b.metadata.uid ?? '', createRevision },
      user: typeof b.spec?.user === 'string' ? b.spec.user : b.metadata.namespace,
      nodes,
      ...(held ? { startTime: st.startTime, endTime: st.endTime } : {}),
      nodeSeconds: held ? Math.round((nodes.length * (end - start)) / 1000) : 0,
      // Accounting: what the booking's account was charged, and the pool it was in.
      ...(typeof st.account === 'string' ? { account: st.account, units: typeof st.charged === 'number' && st.charged >= 0 ? st.charged : 0, ...(typeof st.period === 'string' ? { period: st.period } : {}) } : {}),
      ...(typeof b.spec?.pool === 'string' ? { pool: b.spec.pool } : {}),
      reason: typeof st.reason === 'string' ? st.reason : 'Unknown',
      filedAt: filed,
    },
  };
}

/** A booking name is reused after the booking is deleted; its create revision never is. */
export function usageRecordName(bookingName: string, createRevision: number): string {
  return `${bookingName}.${createRevision}`;
}

/**
 * The time an Expired booking's record is filed under and retention counts from: when its user
 * lost the nodes, or for one that never started (cancelled, refused), its creation. Both are
 * fixed once it is Expired (the planner keeps an Expired status as it is).
 */
export function filedAt(b: Booking): string | undefined {
  const st = b.status;
  const t = Date.parse(st?.startTime && st.endTime ? st.endTime : b.metadata?.creationTimestamp ?? '');
  // toISOString: always milliseconds, UTC, so that keys of one width sort by time.
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

export function usageKey(r: UsageRecord): string {
  return keys.usage(r.spec.filedAt, r.metadata.namespace!, r.metadata.name!);
}

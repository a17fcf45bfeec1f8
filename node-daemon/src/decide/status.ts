// Pure: the Node status fields the daemon owns, and the clock-skew estimate.
import type { CalendarEntry, Condition, NodeStatus } from '../../../crds/api/pure.js';
import { setCondition } from '../../../crds/api/conditions.js';
import { rfc3339 as iso } from '../../../crds/api/time.js';
import { isActive } from './kill.js';

/** The booking holding the node now, as Node.status.booking. */
export function currentBooking(entries: CalendarEntry[], now: number): NodeStatus['booking'] | undefined {
  const e = entries.find((x) => isActive(x, now));
  if (!e) return undefined;
  const [namespace, name] = e.booking.includes('/') ? e.booking.split('/', 2) : [undefined, e.booking];
  return { name, ...(namespace ? { namespace } : {}), user: e.user, since: iso(e.start), until: iso(e.end) };
}

/**
 * One sample of etcd's clock: the HTTP Date header (whole seconds, truncated) of a request
 * sent at local t0 and answered at local t1. The server read its clock at some instant in
 * [t0, t1], so offset = server - local lies in [date - t1, date + 1000 - t0].
 */
export interface ClockSample {
  t0: number;
  t1: number;
  /** Server time from the Date header, epoch ms (a whole second). */
  date: number;
}

export interface SkewEstimate {
  /** Bounds of (server clock - local clock), ms; the intersection of all samples' bounds. */
  low: number;
  high: number;
  /** True: proven off by more than the threshold; false: proven within; undefined: cannot tell. */
  skewed: boolean | undefined;
  message: string;
}

/**
 * Intersects the samples' bounds (the offset is taken as constant over the few samples kept)
 * and compares them with the threshold. Skewed only when every offset the samples allow is
 * beyond the threshold; within only when every one is inside it.
 */
export function estimateSkew(samples: ClockSample[], thresholdSeconds: number): SkewEstimate {
  if (!samples.length) return { low: -Infinity, high: Infinity, skewed: undefined, message: 'no sample of the etcd clock yet' };
  let low = -Infinity;
  let high = Infinity;
  for (const s of samples) {
    low = Math.max(low, s.date - s.t1);
    high = Math.min(high, s.date + 1000 - s.t0);
  }
  if (low > high) {
    // The samples disagree: the offset changed (a clock step). Trust the newest alone.
    const s = samples[samples.length - 1];
    low = s.date - s.t1;
    high = s.date + 1000 - s.t0;
  }
  const thr = thresholdSeconds * 1000;
  const range = `${(low / 1000).toFixed(1)}s..${(high / 1000).toFixed(1)}s`;
  if (low > thr || high < -thr) return { low, high, skewed: true, message: `this node's clock is off from etcd's by ${range} (etcd minus local), more than ${thresholdSeconds}s` };
  if (low >= -thr && high <= thr) return { low, high, skewed: false, message: `clock within ${thresholdSeconds}s of etcd's (offset ${range})` };
  return { low, high, skewed: undefined, message: `offset ${range} is too uncertain to judge against ${thresholdSeconds}s` };
}


/** What the daemon wants in the status fields it owns. */
export interface OwnedStatus {
  capacity?: NodeStatus['capacity'];
  daemonVersion: string;
  heartbeatTime?: number;
  booking?: NodeStatus['booking'];
  cleaned?: Omit<Condition, 'type' | 'lastTransitionTime'>;
  clockSkew?: Omit<Condition, 'type' | 'lastTransitionTime'>;
  /** Whether the daemon restored the card's wake-on-LAN at its start (register/wol.ts), or why not. */
  wakeOnLan?: Omit<Condition, 'type' | 'lastTransitionTime'>;
  /** Set when a cleanup failed: the node is drained with this message. */
  drain?: string;
  /** Idle release: per active entry that opted in, since when its user is idle here (decide/idle.ts). */
  activity?: NodeStatus['activity'];
}

/**
 * Applies the owned fields to the stored status, leaving the operator's alone: phase only
 * changes to Drained on a failed cleanup, or to Ready on first registration (no phase yet).
 */
export function mergeStatus(current: NodeStatus | undefined, want: OwnedStatus, now: number): NodeStatus {
  const s: NodeStatus = structuredClone(current ?? {});
  if (want.capacity) s.capacity = want.capacity;
  s.daemonVersion = want.daemonVersion;
  if (want.heartbeatTime !== undefined) s.heartbeatTime = iso(want.heartbeatTime);
  if (want.booking) s.booking = want.booking;
  else delete s.booking;
  if (want.activity?.length) s.activity = want.activity;
  else delete s.activity;
  if (!s.phase) {
    s.phase = 'Ready';
    s.conditions = setCondition(s.conditions, { type: 'Ready', status: 'True', reason: 'DaemonStarted', message: 'the node daemon registered the node' }, now);
  }
  if (want.cleaned) s.conditions = setCondition(s.conditions, { type: 'Cleaned', ...want.cleaned }, now);
  if (want.clockSkew) s.conditions = setCondition(s.conditions, { type: 'ClockSkew', ...want.clockSkew }, now);
  if (want.wakeOnLan) s.conditions = setCondition(s.conditions, { type: 'WakeOnLan', ...want.wakeOnLan }, now);
  if (want.drain && s.phase !== 'Drained') {
    s.phase = 'Drained';
    s.message = want.drain;
  }
  return s;
}

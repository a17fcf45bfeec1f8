// The object types, generated from crds/*.yaml (types.gen.ts), plus the few shapes that
// are not CRD kinds: calendar entries and events.
import type { Booking, Node, ClusterConfig, UsageRecord, Pool, Account, Subscription, BookingSchedule } from './types.gen.js';
export type * from './types.gen.js';

export const API_VERSION = 'kiwi.dev/v1alpha1' as const;

/** A Node annotation asking the operator to drain it (kiwictl drain sets it, uncordon removes it); its value is the reason. */
export const DRAIN_ANNOTATION = 'kiwi.dev/drain';
/** The label on every Booking a BookingSchedule made (an occurrence); its value is the schedule's name. */
export const SCHEDULE_LABEL = 'kiwi.dev/schedule';
export type KiwiObject = Booking | Node | ClusterConfig | UsageRecord | Pool | Account | Subscription | BookingSchedule;
export type KindName = KiwiObject['kind'];
export type ObjectOfKind<K extends KindName> = Extract<KiwiObject, { kind: K }>;
export type Condition = NonNullable<NonNullable<Node['status']>['conditions']>[number];

/** One booking's hold on one node: [start, end) in epoch milliseconds. */
export interface CalendarEntry {
  booking: string; // namespace/name
  uid: string;
  user: string;
  start: number;
  end: number;
  /** Optional signal the user asked for shortly before the end. */
  endSignal?: { signal: string; before: number };
  /** Opted in to idle release (spec.idleRelease or the cluster default): the daemon measures the user's activity (seconds, percent of a CPU). */
  idle?: { after: number; warnBefore: number; cpuPercent: number };
}

/** A node's calendar: entries sorted by start, never overlapping. */
export interface Calendar {
  node: string;
  entries: CalendarEntry[];
}

/** A recorded transition of an object, kept under /kiwi/events/ for describe and accounting. */
export interface KiwiEvent {
  time: string;
  kind: KindName;
  namespace?: string;
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  source: string;
}

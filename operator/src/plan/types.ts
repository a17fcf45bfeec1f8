// What the planner sees and what it decides. Pure data: the shell fills PlanInput from its
// caches and turns the actions into etcd transactions.
import type { UserLookup } from '../../../crds/api/users.js';
import type { Account, Booking, BookingStatus, CalendarEntry, EffectiveConfig, KiwiEvent, Node, Ledger, LedgerChange, NodeStatus, Pool, PowerSettings } from '../../../crds/api/pure.js';
import type { PowerCommand } from '../power/decide.js';

export interface BookingView {
  /** namespace/name */
  key: string;
  booking: Booking;
  /** mod_revision of the spec key (compare-and-swap precondition). */
  specRevision: number;
  /** mod_revision of the status key, 0 when none. */
  statusRevision: number;
  /** create_revision of the spec key: the arrival order. */
  createRevision: number;
  /** Why the stored value is not a valid booking (crds/api/decode.ts): it is refused under its key's name. */
  invalid?: string;
}

export interface NodeView {
  node: Node;
  statusRevision: number;
  /** Is the daemon still rewriting its heartbeat value (decided by the cache, by its own clock)? */
  heartbeat: boolean;
  /** mod_revision of the heartbeat key that `heartbeat` was judged on, 0 when absent (a NotReady's precondition). */
  heartbeatRevision?: number;
}

export interface CalendarView {
  entries: CalendarEntry[];
  /** mod_revision of the calendar key, 0 when absent. */
  modRevision: number;
}

/** An Account as the planner sees it: its ledger decoded (the status), or why it cannot be. */
export interface AccountView {
  account: Account;
  /** mod_revision of the account's status key (the ledger), 0 when none: the ledger's compare-and-swap. */
  statusRevision: number;
  /** The stored ledger; undefined with `problem` when it does not decode (the account then pays for nothing new). */
  ledger?: Ledger;
  problem?: string;
}

export interface PlanInput {
  now: number;
  config: EffectiveConfig;
  bookings: BookingView[];
  nodes: Map<string, NodeView>;
  calendars: Map<string, CalendarView>;
  /** Resolves a user name through the user database where the operator can (undefined: unknown). */
  users?: UserLookup;
  source?: string;
  /** The Pool objects (none: every booking is planned as without pools). */
  pools?: Pool[];
  /** user -> the Unix groups (of those the pools name) the user is in, resolved by the shell through NSS. */
  groups?: Map<string, string[]>;
  /** Accounting: the accounts by name (none or absent: nothing is charged or refused). */
  accounts?: Map<string, AccountView>;
  /** The uid of the booking stored under a key, across the whole state (a scoped pass sees part of it); default: this input's. */
  bookingUid?: (key: string) => string | undefined;
  /** Power saving: its settings and the cluster's recent power actions (absent: off). */
  power?: PlanPower;
}

export interface PlanPower {
  settings: PowerSettings;
  /** When nodes were told to power off / on within the last minute, over the whole cluster (the rates). */
  recentOff: number[];
  recentOn: number[];
  /** Warm nodes over the whole cluster (power/decide.ts isWarm), for keepIdle; absent: counted from the nodes planned. */
  warm?: number;
}

/** This booking's entries on one node after the action (empty: none); `uid` limits what is removed. */
export interface CalendarChange {
  node: string;
  entries: CalendarEntry[];
  /** Remove only the entries of this uid (an orphan of a deleted booking); default all of the booking. */
  onlyUid?: string;
}

export interface BookingAction {
  kind: 'booking';
  key: string;
  namespace: string;
  name: string;
  /** Preconditions: spec mod_revision (0: the spec must be absent) and status mod_revision. */
  specRevision: number;
  statusRevision: number;
  /** The status to write; undefined leaves it alone (e.g. an orphan's cleanup). */
  status?: BookingStatus;
  calendar: CalendarChange[];
  events: KiwiEvent[];
  /** A short word for logs and tests: Queued, Started, TimeLimit, Rejected... */
  transition: string;
  /** What the action does to accounts' ledgers, written in the same transaction (compared on each ledger's revision). */
  ledger?: LedgerChange[];
}

export interface NodeAction {
  kind: 'node';
  name: string;
  statusRevision: number;
  /**
   * Set on a write that says NotReady: the heartbeat key must still be at this mod_revision (0:
   * absent), so a beat that landed after the cache judged it stale (a watch that lagged behind a
   * paused etcd member) wins over the NotReady.
   */
  heartbeatRevision?: number;
  status: NodeStatus;
  events: KiwiEvent[];
  transition: string;
  /** Power the node off or on once the status is written (operator/src/power/act.ts). */
  power?: PowerCommand;
}

export type Action = BookingAction | NodeAction;

export interface PlanResult {
  actions: Action[];
  /** When something is next due (a planned start, an end), epoch ms; undefined: nothing. */
  nextWake?: number;
  /** Nodes that need a pass at a time of their own (power saving: a wake, an idle end), epoch ms. */
  nodeWakes?: Map<string, number>;
}

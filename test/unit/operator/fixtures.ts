// Builders for planner inputs: a fake `now`, bookings, nodes and calendars, no etcd.
import type { Booking, BookingSpec, BookingStatus, CalendarEntry, Node, NodeSpec, NodeStatus } from '../../../crds/api/index.js';
import { DEFAULT_CONFIG, DRAIN_ANNOTATION, type EffectiveConfig } from '../../../crds/api/index.js';
import type { BookingView, CalendarView, NodeView, PlanInput, BookingAction, NodeAction, PlanResult } from '../../../operator/src/plan/index.js';
import { plan } from '../../../operator/src/plan/index.js';
import { parsePasswd, UserTable } from '../../../crds/api/users.js';

export const T0 = Date.parse('2026-03-02T08:00:00Z'); // a Monday
export const MIN = 60_000;
export const H = 3_600_000;
export const iso = (t: number) => new Date(t).toISOString();

let rev = 100;
export function booking(key: string, spec: Partial<BookingSpec>, opts: { status?: BookingStatus; generation?: number; createRevision?: number; uid?: string } = {}): BookingView {
  const [namespace, name] = key.split('/');
  const b: Booking = {
    apiVersion: 'kiwi.dev/v1alpha1',
    kind: 'Booking',
    metadata: { name, namespace, uid: opts.uid ?? `uid-${key}`, generation: opts.generation ?? 1 },
    spec: { user: namespace, queue: true, ...spec } as BookingSpec,
  };
  if (opts.status) b.status = opts.status;
  const r = opts.createRevision ?? ++rev;
  return { key, booking: b, specRevision: r, statusRevision: opts.status ? r + 1 : 0, createRevision: r };
}

export function node(name: string, opts: { spec?: NodeSpec; status?: NodeStatus; labels?: Record<string, string>; heartbeat?: boolean; drain?: string } = {}): [string, NodeView] {
  const n: Node = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name, ...(opts.labels ? { labels: opts.labels } : {}) }, spec: opts.spec ?? {} };
  if (opts.drain !== undefined) n.metadata.annotations = { [DRAIN_ANNOTATION]: opts.drain };
  if (opts.status) n.status = opts.status;
  return [name, { node: n, statusRevision: opts.status ? 7 : 0, heartbeat: opts.heartbeat ?? false }];
}

export function entry(key: string, start: number, end: number, uid = `uid-${key}`): CalendarEntry {
  return { booking: key, uid, user: key.split('/')[0], start, end };
}

/** A booking that held `nodes` from start to end and is Expired (created at revision 41). */
export const expired = (key: string, start: number, end: number, nodes = ['n1', 'n2'], reason: 'TimeLimit' | 'Cancelled' = 'TimeLimit') =>
  booking(key, { nodes, duration: (end - start) / 1000 }, {
    createRevision: 41,
    status: { phase: 'Expired', reason, nodes, startTime: iso(start).replace('.000Z', 'Z'), endTime: iso(end).replace('.000Z', 'Z'), observedGeneration: 1, message: 'ended' },
  });

/** An Active booking together with its calendar entries. */
export function active(key: string, nodes: string[], start: number, end: number, spec: Partial<BookingSpec> = {}): { view: BookingView; entries: [string, CalendarEntry][] } {
  const view = booking(key, { nodes, duration: (end - start) / 1000, ...spec }, {
    status: { phase: 'Active', reason: 'Started', nodes, startTime: iso(start), endTime: iso(end), observedGeneration: 1, message: `on ${nodes.join(', ')} until x` },
  });
  return { view, entries: nodes.map((n) => [n, entry(key, start, end)]) };
}

export function input(p: {
  now?: number;
  bookings?: BookingView[];
  nodes?: [string, NodeView][];
  entries?: [string, CalendarEntry][];
  config?: Partial<EffectiveConfig>;
  uids?: Record<string, number>;
  /** passwd(5) text for the user database (with `uids` after it), through the real duplicate rule. */
  passwd?: string;
}): PlanInput {
  const users = new UserTable([...parsePasswd(p.passwd ?? ''), ...Object.entries(p.uids ?? {}).map(([name, uid]) => ({ name, uid, gid: uid, home: '/', shell: '/bin/sh' }))]);
  const calendars = new Map<string, CalendarView>();
  for (const [n, e] of p.entries ?? []) {
    const c = calendars.get(n) ?? { entries: [], modRevision: 50 };
    c.entries.push(e);
    c.entries.sort((a, b) => a.start - b.start);
    calendars.set(n, c);
  }
  return {
    now: p.now ?? T0,
    config: { ...DEFAULT_CONFIG, ...p.config },
    bookings: p.bookings ?? [],
    nodes: new Map(p.nodes ?? [node('n1'), node('n2'), node('n3')]),
    calendars,
    users: (u) => users.get(u),
  };
}

export function bookingActions(r: PlanResult): Map<string, BookingAction> {
  return new Map(r.actions.filter((a): a is BookingAction => a.kind === 'booking').map((a) => [a.key, a]));
}
export function nodeActions(r: PlanResult): Map<string, NodeAction> {
  return new Map(r.actions.filter((a): a is NodeAction => a.kind === 'node').map((a) => [a.name, a]));
}

/** Plans and returns each booking's action by key. */
export function run(p: Parameters<typeof input>[0]) {
  const r = plan(input(p));
  return { result: r, b: bookingActions(r), n: nodeActions(r) };
}

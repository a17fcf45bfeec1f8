// A course crunch, through the pure planner (no etcd): 215 students share 12 nodes over the
// 48 hours before a deadline, each submitting bursts of short bookings, more of them as the
// deadline nears, and a few submitting far more than the rest. The same workload is planned
// with the pool's queue in FIFO, RoundRobin and FairShare order, event by event (each arrival,
// start and end is a pass, as the operator's wake-ups are), and reports side by side:
//   - the longest wait of any user's first booking (submitted to started),
//   - the spread of node-hours between users by the deadline (coefficient of variation of
//     node-hours got, and Jain's index of got/asked: 1 is perfectly even),
//   - utilization: node-hours used by the deadline over the nodes' hours from the first
//     submission to the deadline.
// Run: npx tsx bench/course-crunch.ts [seed]
import type { Booking, CalendarEntry, Pool } from '../crds/api/index.js';
import { DEFAULT_CONFIG } from '../crds/api/index.js';
import { applyChanges, plan, type BookingAction, type BookingView, type CalendarView, type NodeView } from '../operator/src/plan/index.js';
import { record } from './record.js';

const BENCH = 'course-crunch';
const USERS = 215;
const NODES = 12;
const H = 3_600_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const DEADLINE = T0 + 48 * H;
/** The simulation runs this long past the deadline; a first booking not started by then counts as waiting until then. */
const END = DEADLINE + 24 * H;
const seed = Number(process.argv[2] ?? 17);

function rng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ask {
  user: string;
  name: string;
  at: number;
  durationS: number;
}

/** 70% light (one burst of 1-3), 20% medium (two bursts of 2-4), 10% heavy (three bursts of 5-10); bursts denser near the deadline. */
function workload(): Ask[] {
  const r = rng(seed);
  const asks: Ask[] = [];
  for (let i = 0; i < USERS; i++) {
    const user = `student${String(i + 1).padStart(3, '0')}`;
    const x = r();
    const [bursts, lo, hi] = x < 0.7 ? [1, 1, 3] : x < 0.9 ? [2, 2, 4] : [3, 5, 10];
    let n = 0;
    for (let b = 0; b < bursts; b++) {
      // u^2 puts most bursts near the deadline; none in its last hour
      const at = Math.round(DEADLINE - H - 47 * H * r() ** 2);
      const size = lo + Math.floor(r() * (hi - lo + 1));
      for (let k = 0; k < size; k++) asks.push({ user, name: `b${++n}`, at: at + k * 1000, durationS: [1800, 3600, 5400, 7200][Math.floor(r() * 4)] });
    }
  }
  return asks.sort((a, b) => a.at - b.at || (a.user < b.user ? -1 : 1));
}

interface Outcome {
  order: string;
  firstWaitMaxH: number;
  firstWaitP95H: number;
  unstartedFirsts: number;
  nodeHoursCv: number;
  jain: number;
  utilization: number;
  passes: number;
  planMs: number;
}

function simulate(order: 'FIFO' | 'RoundRobin' | 'FairShare', asks: Ask[]): Outcome {
  const pool: Pool = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'course' }, spec: { default: true, order, fairShareHalfLife: 86400 } };
  const nodes = new Map<string, NodeView>();
  for (let i = 1; i <= NODES; i++) nodes.set(`n${i}`, { node: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: `n${i}` } }, statusRevision: 1, heartbeat: true });
  const calendars = new Map<string, CalendarView>();
  const bookings = new Map<string, BookingView>();
  const submitted = new Map<string, number>();
  let rev = 10;
  let next = 0;
  let now = asks[0].at;
  let passes = 0;
  let planMs = 0;
  for (let guard = 0; guard < 200_000 && now <= END; guard++) {
    while (next < asks.length && asks[next].at <= now) {
      const a = asks[next++];
      const key = `${a.user}/${a.name}`;
      const b: Booking = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: a.name, namespace: a.user, uid: `u${rev}`, generation: 1 }, spec: { count: 1, duration: a.durationS, queue: true } };
      bookings.set(key, { key, booking: b, specRevision: ++rev, statusRevision: 0, createRevision: rev });
      submitted.set(key, a.at);
    }
    const t0 = performance.now();
    const r = plan({ now, config: { ...DEFAULT_CONFIG, maxDuration: 7 * 86400 }, bookings: [...bookings.values()], nodes, calendars, pools: [pool] });
    planMs += performance.now() - t0;
    passes++;
    for (const a of r.actions) {
      if (a.kind !== 'booking') continue;
      apply(a, bookings, calendars, ++rev);
    }
    const wake = r.nextWake;
    const arrival = next < asks.length ? asks[next].at : undefined;
    const t = Math.min(wake ?? Infinity, arrival ?? Infinity);
    if (!Number.isFinite(t)) break;
    now = Math.max(t, now + 1);
  }
  return measure(order, asks, bookings, submitted, passes, planMs);
}

function apply(a: BookingAction, bookings: Map<string, BookingView>, calendars: Map<string, CalendarView>, rev: number): void {
  const v = bookings.get(a.key);
  if (v && a.status) bookings.set(a.key, { ...v, booking: { ...v.booking, status: a.status }, statusRevision: rev });
  for (const c of a.calendar) {
    const cur = calendars.get(c.node)?.entries ?? [];
    const entries: CalendarEntry[] = applyChanges(cur, a, c.node);
    calendars.set(c.node, { entries, modRevision: rev });
  }
}

function measure(order: string, asks: Ask[], bookings: Map<string, BookingView>, submitted: Map<string, number>, passes: number, planMs: number): Outcome {
  const firstOf = new Map<string, string>();
  for (const a of asks) if (!firstOf.has(a.user)) firstOf.set(a.user, `${a.user}/${a.name}`);
  const waits: number[] = [];
  let unstarted = 0;
  for (const key of firstOf.values()) {
    const st = bookings.get(key)!.booking.status;
    const started = st?.phase === 'Active' || (st?.phase === 'Expired' && st.reason === 'TimeLimit') ? Date.parse(st!.startTime!) : undefined;
    if (started === undefined) unstarted++;
    waits.push(((started ?? END) - submitted.get(key)!) / H);
  }
  waits.sort((a, b) => a - b);
  // Node-hours each user got before the deadline, and asked for before it.
  const got = new Map<string, number>();
  const asked = new Map<string, number>();
  for (const a of asks) asked.set(a.user, (asked.get(a.user) ?? 0) + a.durationS / 3600);
  let used = 0;
  for (const v of bookings.values()) {
    const st = v.booking.status;
    if (!st?.startTime || !(st.phase === 'Active' || st.phase === 'Expired')) continue;
    const s = Date.parse(st.startTime);
    const e = Math.min(Date.parse(st.endTime!), DEADLINE);
    if (e <= s) continue;
    const h = (e - s) / H;
    used += h;
    got.set(v.booking.metadata.namespace!, (got.get(v.booking.metadata.namespace!) ?? 0) + h);
  }
  const users = [...asked.keys()];
  const g = users.map((u) => got.get(u) ?? 0);
  const mean = g.reduce((x, y) => x + y, 0) / g.length;
  const sd = Math.sqrt(g.reduce((x, y) => x + (y - mean) ** 2, 0) / g.length);
  const share = users.map((u) => (got.get(u) ?? 0) / asked.get(u)!);
  const jain = share.reduce((x, y) => x + y, 0) ** 2 / (share.length * share.reduce((x, y) => x + y * y, 0));
  const first = asks[0].at;
  return {
    order,
    firstWaitMaxH: waits[waits.length - 1],
    firstWaitP95H: waits[Math.ceil(0.95 * waits.length) - 1],
    unstartedFirsts: unstarted,
    nodeHoursCv: sd / mean,
    jain,
    utilization: used / (NODES * ((DEADLINE - first) / H)),
    passes,
    planMs,
  };
}

const asks = workload();
const demand = asks.reduce((n, a) => n + a.durationS / 3600, 0);
console.error(`${USERS} users, ${NODES} nodes, ${asks.length} bookings asking ${demand.toFixed(0)} node-hours; the nodes have ${(NODES * (DEADLINE - asks[0].at) / H).toFixed(0)} node-hours from the first submission to the deadline`);
const results = (['FIFO', 'RoundRobin', 'FairShare'] as const).map((o) => simulate(o, asks));
const fifo = results[0];
const f = (x: number) => x.toFixed(2);
console.log('| order | longest first-booking wait (h) | p95 first wait (h) | firsts not started by deadline+24h | node-hours CV (lower: even) | Jain got/asked (1: even) | utilization | passes | ms per pass |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.order} | ${f(r.firstWaitMaxH)} | ${f(r.firstWaitP95H)} | ${r.unstartedFirsts} | ${f(r.nodeHoursCv)} | ${f(r.jain)} | ${(r.utilization * 100).toFixed(1)}% | ${r.passes} | ${f(r.planMs / r.passes)} |`);
for (const r of results.slice(1)) {
  record({ bench: BENCH, figure: `longest wait of a user's first booking, ${r.order}`, value: r.firstWaitMaxH, unit: 'h', peer: 'the same under FIFO', peerValue: fifo.firstWaitMaxH, ...(r.order === 'FairShare' ? { goal: 'ratio <= 0.5', met: r.firstWaitMaxH <= 0.5 * fifo.firstWaitMaxH } : { goal: 'ratio <= 1', met: r.firstWaitMaxH <= fifo.firstWaitMaxH }) });
  record({ bench: BENCH, figure: `node-hours between users by the deadline (coefficient of variation), ${r.order}`, value: r.nodeHoursCv, unit: '', peer: 'the same under FIFO', peerValue: fifo.nodeHoursCv, goal: 'ratio <= 1', met: r.nodeHoursCv <= fifo.nodeHoursCv });
  record({ bench: BENCH, figure: `Jain's index of node-hours got/asked by the deadline, ${r.order}`, value: r.jain, unit: '', peer: 'the same under FIFO', peerValue: fifo.jain, goal: 'ratio >= 1', met: r.jain >= fifo.jain });
  record({ bench: BENCH, figure: `utilization to the deadline, ${r.order}`, value: r.utilization * 100, unit: '%', peer: 'the same under FIFO', peerValue: fifo.utilization * 100, goal: 'ratio >= 0.98 (fairness costs no use)', met: r.utilization >= 0.98 * fifo.utilization });
  record({ bench: BENCH, figure: `planning ms per pass, ${r.order}`, value: r.planMs / r.passes, unit: 'ms', peer: 'the same under FIFO', peerValue: fifo.planMs / fifo.passes });
}

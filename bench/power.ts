// Power saving over a simulated week of a lab's bookings at 1,000 nodes: the pure planner and
// power decisions (operator/src/plan, operator/src/power/decide.ts) on a virtual clock, the
// machines simulated (a power-off takes 30 s, a boot 60-100 % of bootTime). No etcd: writes go
// through the reconciler's own grouping (plan/txn.ts) into an in-memory state.
// Reports node-hours off next to the node-hours nothing held (the same bookings without power
// saving), bookings started later than the start they were shown (goal: none of those the
// calendar knew ahead), how long bookings that asked for now waited next to the same without
// power saving, and power cycles per node.
// Run: npx tsx bench/power.ts [nodes=1000] [days=7]
import type { Booking, BookingSpec } from '../crds/api/index.js';
import { DEFAULT_CONFIG, DEFAULT_POWER, type PowerSettings } from '../crds/api/index.js';
import { chunkGroup, groupActions, plan, type BookingView, type CalendarView, type NodeView } from '../operator/src/plan/index.js';
import { record } from './record.js';

const NODES = Number(process.argv[2] ?? 1000);
const DAYS = Number(process.argv[3] ?? 7);
const T0 = Date.parse('2026-03-02T00:00:00Z'); // a Monday
const END = T0 + DAYS * 86_400_000;
const MIN = 60_000;
const H = 60 * MIN;
const SETTINGS: PowerSettings = { ...DEFAULT_POWER, enabled: true, idleTime: 1800, bootTime: 300, resumeTimeout: 900, action: 'commands', commands: { powerOff: ['/bin/true'], powerOn: ['/bin/true'], timeout: 60 } };
const SHUTDOWN_MS = 30_000;

/** A seeded generator (mulberry32): the same week every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ask { at: number; name: string; spec: Partial<BookingSpec>; ahead: boolean }

/**
 * A lab's week: bookings arrive mostly in working hours on weekdays (fewer evenings, few at
 * night or at weekends); 70 % are reservations made 1 to 48 hours ahead (a start the calendar
 * knows), 30 % want nodes now. 1 to 16 nodes each, for 1 to 8 hours.
 */
function week(): Ask[] {
  const r = rng(21);
  const asks: Ask[] = [];
  let t = T0;
  let i = 0;
  const perNodeWeek = 1.6; // bookings per node per week
  const base = (NODES * perNodeWeek) / (DAYS * 24); // per hour, on average
  while (t < END) {
    const d = new Date(t);
    const hour = d.getUTCHours();
    const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
    const f = weekend ? 0.3 : hour >= 9 && hour < 18 ? 2.6 : hour >= 18 && hour < 23 ? 0.8 : 0.15;
    t += (-Math.log(1 - r()) / (base * f)) * H;
    if (t >= END) break;
    const count = 1 + Math.floor(r() ** 2 * 16);
    const duration = (1 + Math.floor(r() * 8)) * 3600;
    const ahead = r() < 0.7;
    const spec: Partial<BookingSpec> = { count, nodeSelector: {}, duration, queue: true };
    if (ahead) spec.start = new Date(Math.ceil((t + (1 + r() * 47) * H) / (15 * MIN)) * 15 * MIN).toISOString();
    asks.push({ at: t, name: `b${String(++i).padStart(5, '0')}`, spec, ahead });
  }
  return asks;
}

interface Outcome {
  offNodeHours: number;
  idleNodeHours: number;
  started: number;
  aheadStarted: number;
  lateAhead: number;
  late: number[];
  nowWaits: number[];
  cycles: number[];
  notUpAtStart: number;
  rejected: number;
  passes: number;
  planMs: number;
}

function simulate(power: PowerSettings | undefined, asks: Ask[]): Outcome {
  const names = Array.from({ length: NODES }, (_, i) => `n${String(i).padStart(4, '0')}`);
  const nodes = new Map<string, NodeView>(names.map((n) => [n, { node: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: n }, spec: {}, status: { phase: 'Ready' } }, statusRevision: 1, heartbeat: true }]));
  const calendars = new Map<string, CalendarView>();
  const bookings = new Map<string, BookingView>();
  const shown = new Map<string, number>(); // booking -> the first start it was shown
  const meta = new Map(asks.map((a) => [`lab/${a.name}`, a]));
  /** Machine events: [time, node, heartbeat] */
  const machine: [number, string, boolean][] = [];
  const downSince = new Map<string, number>();
  const out: Outcome = { offNodeHours: 0, idleNodeHours: 0, started: 0, aheadStarted: 0, lateAhead: 0, late: [], nowWaits: [], cycles: [], notUpAtStart: 0, rejected: 0, passes: 0, planMs: 0 };
  const r = rng(7);
  let rev = 10;
  let now = T0;
  let next = 0;
  let lastIdleAt = T0;
  const busyAt = (t: number) => { let b = 0; for (const c of calendars.values()) if (c.entries.some((e) => e.start <= t && t < e.end)) b++; return b; };
  while (now < END) {
    // Arrivals up to now.
    while (next < asks.length && asks[next].at <= now) {
      const a = asks[next++];
      const r2 = ++rev;
      const b: Booking = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: a.name, namespace: 'lab', uid: `u-${a.name}`, generation: 1 }, spec: { user: 'lab', ...a.spec } as BookingSpec };
      bookings.set(`lab/${a.name}`, { key: `lab/${a.name}`, booking: b, specRevision: r2, statusRevision: 0, createRevision: r2 });
    }
    // Machines that finished powering off or booting.
    machine.sort((x, y) => x[0] - y[0]);
    while (machine.length && machine[0][0] <= now) {
      const [, n, hb] = machine.shift()!;
      const nv = nodes.get(n)!;
      nodes.set(n, { ...nv, heartbeat: hb });
    }
    const recent = (f: 'lastOffTime' | 'lastOnTime') => [...nodes.values()].map((v) => Date.parse(v.node.status?.power?.[f] ?? '')).filter((x) => x > now - MIN);
    const t0 = performance.now();
    const res = plan({ now, config: DEFAULT_CONFIG, bookings: [...bookings.values()], nodes, calendars, power: power ? { settings: power, recentOff: recent('lastOffTime'), recentOn: recent('lastOnTime') } : undefined });
    out.planMs += performance.now() - t0;
    out.passes++;
    // Write as the reconciler does: groups, chunks, each calendar's final value.
    for (const g of groupActions(res.actions)) {
      for (const c of chunkGroup(g, calendars)) {
        if (!c.valid) throw new Error('an invalid chunk');
        const rv = ++rev;
        for (const [n, es] of c.calendars) calendars.set(n, { entries: es, modRevision: rv });
        for (const a of c.actions) {
          if (a.kind === 'node') {
            const nv = nodes.get(a.name)!;
            nodes.set(a.name, { ...nv, node: { ...nv.node, status: a.status }, statusRevision: rv });
            if (a.power === 'off') {
              machine.push([now + SHUTDOWN_MS, a.name, false]);
              downSince.set(a.name, now);
            } else if (a.power === 'on') {
              machine.push([now + SETTINGS.bootTime * 1000 * (0.6 + 0.4 * r()), a.name, true]);
              out.offNodeHours += (now - (downSince.get(a.name) ?? now)) / H;
              downSince.delete(a.name);
            }
            continue;
          }
          const v = bookings.get(a.key);
          if (!v || !a.status) continue;
          const st = a.status;
          if (st.phase === 'Pending' && st.startTime && !shown.has(a.key)) shown.set(a.key, Date.parse(st.startTime));
          if (st.phase === 'Active' && v.booking.status?.phase !== 'Active') {
            out.started++;
            const ask = meta.get(a.key)!;
            const start = Date.parse(st.startTime!);
            const promised = shown.get(a.key) ?? (ask.spec.start ? Date.parse(ask.spec.start) : ask.at);
            if (ask.ahead) out.aheadStarted++;
            if (start > promised + 1000) {
              out.late.push((start - promised) / 1000);
              if (ask.ahead) out.lateAhead++;
            }
            if (!ask.ahead) out.nowWaits.push(Math.max(0, Math.round((start - ask.at) / 1000)));
            for (const n of st.nodes ?? []) if (!nodes.get(n)!.heartbeat) out.notUpAtStart++;
          }
          if (st.phase === 'Expired') {
            if (st.reason === 'Rejected' || st.reason === 'Busy') out.rejected++;
            bookings.delete(a.key); // done: keep the passes small, as retention would
          } else bookings.set(a.key, { ...v, booking: { ...v.booking, status: st }, statusRevision: rv });
        }
      }
    }
    // Node-hours that nothing held (the idle time power saving can use), sampled per step.
    const step = Math.min(res.nextWake ?? Infinity, asks[next]?.at ?? Infinity, machine.length ? Math.min(...machine.map((m) => m[0])) : Infinity, now + 15 * MIN, END);
    const t = Math.max(step, now + 1);
    out.idleNodeHours += ((NODES - busyAt(now)) * (t - now)) / H;
    lastIdleAt = now;
    now = t;
  }
  void lastIdleAt;
  for (const [n, since] of downSince) out.offNodeHours += (END - since) / H, void n;
  out.cycles = [...nodes.values()].map((v) => v.node.status?.power?.cycles ?? 0);
  return out;
}

const asks = week();
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0; };
const t0 = Date.now();
const base = simulate(undefined, asks);
const t1 = Date.now();
const saving = simulate(SETTINGS, asks);
const t2 = Date.now();
const KEEP = 32; // two of the largest bookings
const warm = simulate({ ...SETTINGS, keepIdle: KEEP }, asks);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const summary = {
  nodes: NODES, days: DAYS, bookings: asks.length, aheadAsked: asks.filter((a) => a.ahead).length,
  withoutPowerSaving: { started: base.started, rejected: base.rejected, late: base.late.length, nowWaitP50s: pct(base.nowWaits, 50), nowWaitP99s: pct(base.nowWaits, 99), idleNodeHours: Math.round(base.idleNodeHours), passes: base.passes, seconds: (t1 - t0) / 1000 },
  withPowerSaving: {
    started: saving.started, rejected: saving.rejected, offNodeHours: Math.round(saving.offNodeHours), idleNodeHours: Math.round(saving.idleNodeHours),
    aheadStarted: saving.aheadStarted, lateAhead: saving.lateAhead, late: saving.late.length, lateMaxS: Math.max(0, ...saving.late), lateP50s: pct(saving.late, 50),
    nowWaitP50s: pct(saving.nowWaits, 50), nowWaitP99s: pct(saving.nowWaits, 99), notUpAtStart: saving.notUpAtStart,
    cyclesMean: mean(saving.cycles), cyclesMax: Math.max(...saving.cycles), passes: saving.passes, planMsMean: saving.planMs / saving.passes, seconds: (t2 - t1) / 1000,
  },
  keepIdle: { keepIdle: KEEP, offNodeHours: Math.round(warm.offNodeHours), lateAhead: warm.lateAhead, late: warm.late.length, notUpAtStart: warm.notUpAtStart, nowWaitP50s: pct(warm.nowWaits, 50), nowWaitP99s: pct(warm.nowWaits, 99), cyclesMean: mean(warm.cycles) },
};
console.log(JSON.stringify(summary, null, 2));
const P = 'power';
const s = summary.withPowerSaving;
const b = summary.withoutPowerSaving;
record({ bench: P, figure: `node-hours powered off (${NODES} nodes, ${DAYS} days, ${asks.length} bookings)`, value: s.offNodeHours, unit: 'node-h', peer: 'node-hours no booking held, without power saving (same bookings)', peerValue: b.idleNodeHours });
record({ bench: P, figure: 'bookings known ahead that started later than shown', value: s.lateAhead, unit: 'bookings', peer: 'bookings known ahead that started', peerValue: s.aheadStarted, goal: 'value == 0', met: s.lateAhead === 0 });
record({ bench: P, figure: 'bookings that started later than shown (all), the latest by', value: s.lateMaxS, unit: 's', peer: `bookings late: ${s.late} of ${s.started}; bootTime`, peerValue: SETTINGS.bootTime });
record({ bench: P, figure: 'nodes not up at their booking\'s start', value: s.notUpAtStart, unit: 'node-starts', peer: 'the same without power saving', peerValue: base.notUpAtStart, goal: 'value == 0', met: s.notUpAtStart === 0 });
record({ bench: P, figure: 'wait of bookings that asked for now, p50', value: s.nowWaitP50s, unit: 's', peer: 'without power saving (same bookings)', peerValue: b.nowWaitP50s });
record({ bench: P, figure: 'wait of bookings that asked for now, p99', value: s.nowWaitP99s, unit: 's', peer: 'without power saving (same bookings)', peerValue: b.nowWaitP99s });
const k = summary.keepIdle;
record({ bench: P, figure: `with keepIdle ${KEEP}: wait of bookings that asked for now, p50`, value: k.nowWaitP50s, unit: 's', peer: 'keepIdle 0 (same bookings)', peerValue: s.nowWaitP50s });
record({ bench: P, figure: `with keepIdle ${KEEP}: node-hours powered off`, value: k.offNodeHours, unit: 'node-h', peer: 'keepIdle 0 (same bookings)', peerValue: s.offNodeHours });
record({ bench: P, figure: `with keepIdle ${KEEP}: bookings known ahead late, nodes not up at start`, value: k.lateAhead + k.notUpAtStart, unit: 'bookings', peer: 'keepIdle 0', peerValue: s.lateAhead + s.notUpAtStart, goal: 'value == 0', met: k.lateAhead + k.notUpAtStart === 0 });
record({ bench: P, figure: 'power cycles per node over the week, mean', value: s.cyclesMean, unit: 'cycles', peer: 'the most any node had', peerValue: s.cyclesMax });
record({ bench: P, figure: 'planning pass with power saving, mean', value: s.planMsMean, unit: 'ms', peer: 'without power saving', peerValue: base.planMs / base.passes });
if (s.lateAhead !== 0 || s.notUpAtStart !== 0 || k.lateAhead + k.notUpAtStart !== 0) process.exitCode = 1;

// Phase "placement": the queue, in arrival order (create revision). New bookings (and changed
// specs) are admitted, then each is placed at the earliest slot where all its nodes are free.
// A later booking can only take a gap an earlier one could not use: backfill that delays no
// one. What a queued booking waits for is said once everything is placed (phase waitingFor).
import type { Booking, BookingStatus, Pool } from '../../../../crds/api/pure.js';
import { validateObject } from '../../../../crds/api/validate.js';
import type { BookingView } from '../types.js';
import { admit, timingOf, type Timing } from '../admission.js';
import { conflicts, earliestCommonSlot, earliestCountSlot, firstConflict, predecessor, type SlotNode } from '../calendar.js';
import { filterNode, NodeSelectorMatch, PoolMember, rankNodes, type FilterRequest } from '../filters.js';
import { EarliestFree } from '../earliest.js';
import { encumber } from '../budget.js';
import { describeWindows, fitsWindow } from '../../../../crds/api/windows.js';
import { reject as rejectStatus, verdict, worst, type FilterStatus } from '../status.js';
import { nodeReadyAt } from './power.js';
import { bookingEvent, calendarOf, clip, expire, gen, human, iso, keep, pauseDue, placeAt, type PassState } from '../pass.js';

/** Per pass: the nodes a selector and duration allow (the filters depend on nothing else). */
interface Candidates {
  cands: string[];
  set: Set<string>;
  matching: number;
  why: string[];
  free?: EarliestFree;
}

export function* placement(s: PassState): Generator<void, void, void> {
  const ctx: PlacementCtx = { candidates: new Map(), sortedNodes: [...s.nodes.keys()].sort(), slotCache: new Map() };
  for (const v of s.queue) {
    yield; // a booking free to go on any node can cost a scan of every node: pause before each
    placeOne(s, ctx, v);
  }
}

/** What a queued booking waits for, once every booking is placed (a later reservation may come first). */
export function* waitingFor(s: PassState): Generator<void, void, void> {
  for (const f of s.finalize) {
    if (pauseDue(s)) yield;
    f();
  }
}

interface PlacementCtx {
  candidates: Map<string, Candidates>;
  sortedNodes: string[];
  slotCache: Map<string, SlotNode>;
}

function placeOne(s: PassState, ctx: PlacementCtx, v: BookingView): void {
  const { now, config } = s;
  const b = v.booking;
  const st = b.status ?? {};
  const admitting = !st.phase || gen(b) !== st.observedGeneration;
  // With pools: the booking's pool (or why it has none), whose defaultDuration replaces the cluster's.
  const inPool = s.pools?.poolOf(b);
  const pool = inPool && 'metadata' in inPool ? inPool : undefined;
  const poolDefault = pool?.spec?.limits?.defaultDuration;
  const t = timingOf(b, poolDefault === undefined ? config : { ...config, defaultDuration: Number(poolDefault) }, now);
  if (typeof t === 'string') {
    if (admitting) expire(s, v, 'Rejected', t, 'Warning');
    else keep(s, v);
    return;
  }
  if (admitting) {
    const why = schemaProblem(b) || admit(b, t, { now, config, users: s.input.users });
    if (why) {
      expire(s, v, 'Rejected', why, 'Warning');
      return;
    }
  }
  /** The one place a filter's answer becomes a refusal or a wait. */
  const refuseOrWait = (st: FilterStatus) => (verdict(st, admitting) === 'Reject' ? expire(s, v, 'Rejected', st.reason, 'Warning') : waitFor(s, v, st.reason, poolReason(st)));
  const req: FilterRequest = { booking: b, durationMs: t.durationMs, now, pool };
  if (inPool && !pool) return void refuseOrWait(inPool as FilterStatus);
  if (pool) {
    const why = s.pools!.check(v, pool, t, b.spec.nodes?.length ?? b.spec.count ?? 1, admitting);
    if (why) return void refuseOrWait(why);
    if (admitting) s.pools!.noteWaiting(v);
  }

  // Candidate nodes.
  let cands: string[];
  // The candidates in preference order (StayPut): sorting them all is a cost per booking, so
  // only when the order matters; `inCands` without a scan.
  let ranked = () => cands;
  let inCands = (n: string) => cands.includes(n);
  let free: (() => EarliestFree) | undefined;
  const current = new Set(s.held.get(v.key)?.keys() ?? []);
  if (b.spec.nodes) {
    const bad = b.spec.nodes.map((n) => filterNode(req, n, s.nodes.get(n))).filter((x): x is FilterStatus => x !== undefined);
    if (bad.length) {
      refuseOrWait({ ...worst(bad)!, reason: bad.map((x) => x.reason).join('; ') });
      return;
    }
    cands = b.spec.nodes;
  } else {
    const count = b.spec.count ?? 1;
    const memoKey = `${JSON.stringify(b.spec.nodeSelector ?? {})}|${t.durationMs}${pool ? `|${pool.metadata.name}` : ''}`;
    let m = ctx.candidates.get(memoKey);
    if (!m) {
      const found: Candidates = { cands: [], set: new Set<string>(), matching: 0, why: [] };
      for (const n of ctx.sortedNodes) {
        // Nodes the selector leaves out are not counted or named, whatever else is wrong with them.
        if (NodeSelectorMatch.check(req, n, s.nodes.get(n)) || PoolMember.check(req, n, s.nodes.get(n))) continue;
        found.matching++;
        const w = filterNode(req, n, s.nodes.get(n));
        if (!w) found.cands.push(n), found.set.add(n);
        else found.why.push(w.reason);
      }
      ctx.candidates.set(memoKey, (m = found));
    }
    cands = m.cands;
    if (cands.length < count) {
      const sel = Object.entries(b.spec.nodeSelector ?? {}).map(([k, x]) => `${k}=${x}`).join(',') || '(any)';
      refuseOrWait(rejectStatus('Count', `${count} node(s) matching nodeSelector ${sel} asked, ${m.matching} match and ${cands.length} can be booked${m.why.length ? ` (${clip(m.why)})` : ''}`));
      return;
    }
    const memo = m;
    ranked = () => rankNodes(req, memo.cands, current);
    inCands = (n) => memo.set.has(n);
    // Nodes that gain entries get a new version, so the heap re-checks them (see earliest.ts).
    free = () => (memo.free ??= new EarliestFree(slotNodes(memo.cands), now, t.durationMs, (n) => s.versions.get(n) ?? 0));
  }
  const slotNodes = (names: string[]): SlotNode[] =>
    names.map((n) => {
      // One per node per pass: its entries are the working calendar itself, which grows in place.
      let sn = ctx.slotCache.get(n);
      if (!sn) ctx.slotCache.set(n, (sn = { name: n, entries: calendarOf(s, n), windows: s.nodes.get(n)?.node.spec?.reservableWindows, from: nodeReadyAt(s, n) }));
      return sn;
    });

  // Accounting: the booking's maximum cost is encumbered before it gets a slot, or it does not get one.
  const unpaid = encumber(s, v, admitting, cands, t.durationMs);
  if (unpaid) {
    refuseOrWait(unpaid);
    return;
  }
  if (t.start !== undefined || t.end !== undefined) return fixedSlot(s, v, t, admitting, cands, ranked, pool);

  // Queued: the earliest slot.
  // A planned start that has come keeps its time when its nodes are still free from then: the
  // daemons go by the calendar, so that is when the user got in (a pass runs late, or the
  // operator was away). No drift down the queue, no second slot for what already ran.
  const planned = !admitting && st.phase === 'Pending' && st.startTime && st.nodes?.length ? Date.parse(st.startTime) : undefined;
  let start: number | undefined;
  let chosen: string[] = [];
  if (planned !== undefined && planned <= now && st.nodes!.every(inCands) && (b.spec.nodes || st.nodes!.length === (b.spec.count ?? 1))) {
    if (earliestCommonSlot(slotNodes(st.nodes!), planned, t.durationMs) === planned) [start, chosen] = [planned, [...st.nodes!]];
  }
  /** The earliest slot from `nb` on: which nodes, and when. */
  const search = (nb: number): { start: number; chosen: string[] } | undefined => {
    if (b.spec.nodes) {
      const at = earliestCommonSlot(slotNodes(cands), nb, t.durationMs);
      return at === undefined ? undefined : { start: at, chosen: cands };
    }
    if ((b.spec.count ?? 1) === 1 && free && nb === now) {
      const r = free().best([...current].filter(inCands).sort());
      return r && { start: r.start, chosen: [r.node] };
    }
    const r = earliestCountSlot(slotNodes(ranked()), b.spec.count ?? 1, nb, t.durationMs);
    return r && { start: r.start, chosen: [...r.nodes].sort() };
  };
  // A pool's nodes-held limits can push the start later: to the next moment something the user
  // (or their group) holds ends or a schedule window turns, and the search goes on from there.
  let limited: FilterStatus | undefined;
  for (let nb = now, guard = 0; start === undefined && guard < 64; guard++) {
    const r = search(nb);
    if (!r) break;
    const over = pool && s.pools!.nodesOver(v, pool, r.start, r.start + t.durationMs, r.chosen.length);
    if (!over) [start, chosen] = [r.start, r.chosen];
    else if (((limited = over.status), over.retryAt === undefined)) break;
    else nb = over.retryAt;
  }
  if (start === undefined && limited) return void refuseOrWait(limited);
  if (start === undefined) {
    refuseOrWait(rejectStatus('Slot', `no slot of ${t.durationMs / 1000}s fits the reservable windows of the nodes within the next 400 days`));
    return;
  }
  const end = start + t.durationMs;
  if (start > now && b.spec.queue === false && admitting) {
    const holders: string[] = [];
    for (const n of chosen) for (const c of conflicts(s.calendars.get(n) ?? [], now, start)) holders.push(`node ${n} is held by ${c.booking} (user ${c.user}) until ${human(c.end)}`);
    const msg = holders.length ? `cannot start now and queue is false: ${clip(holders)}` : `cannot start now and queue is false: the nodes' reservable windows open at ${human(start)}`;
    expire(s, v, 'Busy', msg, 'Warning');
    return;
  }
  if (end <= now) {
    // Its whole planned slot passed while no operator ran; the daemons gave it that slot.
    const d = expire(s, v, 'TimeLimit', `its planned slot ${human(start)} to ${human(end)} passed while no operator was running; the nodes' daemons held it for that time`);
    Object.assign(d.status, { nodes: chosen, startTime: iso(start), endTime: iso(end) });
    return;
  }
  const d = placeAt(s, v, chosen, start, end);
  s.pools?.note(v, start, end, chosen.length);
  if (start <= now) return;
  const slot = { start, end, chosen };
  s.finalize.push(() => {
    const preds = slot.chosen.flatMap((n) => {
      const p = predecessor(s.calendars.get(n) ?? [], slot.start, now);
      return p ? [{ node: n, booking: p.booking, user: p.user, until: iso(p.end) }] : [];
    });
    const who = preds.map((p) => `${p.booking} (user ${p.user}) on ${p.node} until ${human(Date.parse(p.until))}`);
    const held = limited ? ` (held back by ${limited.reason})` : '';
    const status: BookingStatus = {
      phase: 'Pending',
      reason: preds.length || limited ? 'Queued' : 'Scheduled',
      message: preds.length ? `starts ${human(slot.start)}, after ${clip(who)}${held}` : limited ? `starts ${human(slot.start)}${held}` : `starts ${human(slot.start)}, when the nodes' reservable windows open`,
      nodes: slot.chosen,
      startTime: iso(slot.start),
      endTime: iso(slot.end),
      observedGeneration: gen(b),
    };
    if (preds.length) status.waitingFor = preds;
    if (limited) status.pendingReason = limited.plugin;
    if (st.conditions?.length) status.conditions = st.conditions;
    d.status = status;
    if (st.phase !== 'Pending' || !st.startTime) {
      d.events.push(bookingEvent(s, v, 'Normal', 'Queued', status.message!));
      d.transition = 'Queued';
    } else if (st.startTime !== status.startTime) {
      d.events.push(bookingEvent(s, v, 'Normal', 'Rescheduled', `planned start moved from ${human(Date.parse(st.startTime))} to ${human(slot.start)}`));
      d.transition = 'Rescheduled';
    }
  });
}

/** A fixed slot: a reservation (start), or "until end" starting now. */
function fixedSlot(s: PassState, v: BookingView, t: Timing, admitting: boolean, cands: string[], ranked: () => string[], pool?: Pool): void {
  const { now } = s;
  const b = v.booking;
  const st = b.status ?? {};
  const admitted = !admitting && st.startTime !== undefined;
  const start = t.start ?? (admitted ? Date.parse(st.startTime!) : now);
  const end = t.end ?? start + t.durationMs;
  let chosen: string[] | undefined;
  let why = '';
  const check = (n: string) => {
    const ws = s.nodes.get(n)?.node.spec?.reservableWindows;
    if (!fitsWindow(ws, start, end)) return `node ${n} is bookable only within ${describeWindows(ws!)}; ${human(start)} to ${human(end)} does not fit one window`;
    const up = admitting ? nodeReadyAt(s, n) : undefined; // an admitted slot keeps its node
    if (up !== undefined && up > start) return `node ${n} is ${s.nodes.get(n)?.node.status?.phase} (power saving) and cannot be up before ${human(up)}`;
    const c = firstConflict(s.calendars.get(n) ?? [], start, end);
    return c ? `node ${n} is booked by ${c.booking} (user ${c.user}) from ${human(c.start)} to ${human(c.end)}` : '';
  };
  const count = b.spec.count ?? 1;
  if (b.spec.nodes) {
    for (const n of cands) if (!why) why = check(n);
    if (!why) chosen = cands;
  } else {
    const ok: string[] = [];
    for (const n of ranked()) {
      const w = check(n);
      if (!w) ok.push(n);
      else if (!why) why = w;
      if (ok.length === count) break;
    }
    if (ok.length === count) chosen = ok.sort();
  }
  const over = chosen && pool ? s.pools!.nodesOver(v, pool, start, end, chosen.length) : undefined;
  if (over) why = over.status.reason;
  if (!chosen || over) {
    expire(s, v, 'Rejected', `the slot ${human(start)} to ${human(end)} is not free: ${why}`, 'Warning');
    return;
  }
  const d = placeAt(s, v, chosen, start, end);
  s.pools?.note(v, start, end, chosen.length);
  if (start > now) {
    d.status = { phase: 'Pending', reason: 'Scheduled', message: `reserved ${chosen.join(', ')} from ${human(start)} to ${human(end)}`, nodes: chosen, startTime: iso(start), endTime: iso(end), observedGeneration: gen(b) };
    if (st.phase !== 'Pending' || st.startTime !== iso(start)) {
      d.events.push(bookingEvent(s, v, 'Normal', 'Scheduled', d.status.message!));
      d.transition = 'Scheduled';
    }
  }
}

/** Pending, saying why it cannot be placed now. */
function waitFor(s: PassState, v: BookingView, why: string, pendingReason?: string): void {
  const b = v.booking;
  const st = b.status ?? {};
  const status: BookingStatus = { phase: 'Pending', reason: 'Queued', message: `waits: ${why}`, observedGeneration: gen(b) };
  if (pendingReason) status.pendingReason = pendingReason;
  if (b.spec.nodes) status.nodes = b.spec.nodes;
  if (st.conditions?.length) status.conditions = st.conditions;
  const d = keep(s, v);
  d.status = status;
  if (st.phase !== 'Pending' || st.message !== status.message) {
    d.events.push(bookingEvent(s, v, 'Normal', 'Queued', status.message!));
    d.transition = 'Waiting';
  }
}

/** The booking against its CRD schema (kiwictl checks this too; a spec written around it is refused here). */
function schemaProblem(b: Booking): string {
  try {
    validateObject({ apiVersion: b.apiVersion, kind: b.kind, metadata: b.metadata, spec: b.spec }, 'spec');
    return '';
  } catch (e) {
    return (e as Error).message.replace(/^spec: /, 'invalid: ');
  }
}

/** A pool's limits name themselves in status.pendingReason (Slurm's pending reason); other waits leave it out, as before pools. */
const poolReason = (st: FilterStatus) => (st.plugin.startsWith('Pool') ? st.plugin : undefined);

// The planner: plan(state, now) -> actions. Pure and deterministic: no I/O, no clock but
// input.now. It decides every booking's desired status and calendar entries from the whole
// state given (level-triggered), and returns only what differs from what is stored.
//
// A pass is its phases, in order, over one PassState (pass.ts); each phase is its own module
// under phases/ with its own tests. Order is what makes the rules hold: what is held is known
// before anything is decided; nodes' readiness before bookings see them; every booking that
// holds a slot (Active, or a begun slot) is planned before the queue, so nothing queued can
// move it; the queue in arrival order (FIFO with backfill). To add a rule: a filter in
// filters.ts (answering a FilterStatus), an admission rule in admission.ts, or a phase here.
import type { BookingView, PlanInput, PlanResult } from './types.js';
import { newPass, type PassState } from './pass.js';
import { held } from './phases/held.js';
import { drained, readiness } from './phases/nodes.js';
import { lifecycle } from './phases/lifecycle.js';
import { heal } from './phases/heal.js';
import { idle } from './phases/idle.js';
import { placement, waitingFor } from './phases/placement.js';
import { pools } from './phases/pools.js';
import { diff, wake } from './phases/diff.js';
import { power, powerState } from './phases/power.js';
import { budget, ledger, settleEnds } from './budget.js';

export { SOURCE, iso, human } from './pass.js';
export { sameStored } from './phases/diff.js';

export interface Phase {
  name: string;
  run(s: PassState): Generator<void, void, void>;
}

export const PHASES: Phase[] = [
  { name: 'held', run: held }, //               what each booking holds; orphans
  { name: 'readiness', run: readiness }, //     node phases from heartbeats and drain requests
  { name: 'powerState', run: powerState }, //   power saving: off, back up, or not in time
  { name: 'lifecycle', run: lifecycle }, //     expire, cancel, resize; Active and begun slots stay put
  { name: 'heal', run: heal }, //               failed nodes: replace (selector), wait or end (pinned); re-plan reservations
  { name: 'idle', run: idle }, //               end bookings idle on all their nodes, after a warning
  { name: 'settle', run: settleEnds }, //       accounting: what ended is charged, the rest released
  { name: 'pools', run: pools }, //             what users hold in each pool; each pool's queue in its order
  { name: 'placement', run: placement }, //     the queue, in arrival order
  { name: 'waitingFor', run: waitingFor }, //   what each queued booking waits for
  { name: 'budget', run: budget }, //           accounting: reserves trued down to the slots held
  { name: 'diff', run: diff }, //               the booking actions: what differs from what is stored
  { name: 'power', run: power }, //             power saving: power off the idle, wake what a start needs
  { name: 'ledger', run: ledger }, //           accounting: each action's ledger changes
  { name: 'drained', run: drained }, //         node actions: draining nodes nothing holds are Drained
  { name: 'wake', run: wake }, //               when the next start or end comes
];

export function plan(input: PlanInput): PlanResult {
  const steps = planSteps(input);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The same plan, in steps: it pauses (yields) before each queued booking and every STEP other
 * steps, so that a caller with other work to do meanwhile (the operator keeping its election
 * lease alive) can do it in between. Still pure: the input must not change while it is paused.
 */
export function* planSteps(input: PlanInput, phases: Phase[] = PHASES): Generator<void, PlanResult, void> {
  const s = newPass(input);
  for (const p of phases) yield* p.run(s);
  if (s.nodeWakes.size) for (const t of s.nodeWakes.values()) if (s.nextWake === undefined || t < s.nextWake) s.nextWake = t;
  return { actions: s.actions, nextWake: s.nextWake, ...(s.nodeWakes.size ? { nodeWakes: s.nodeWakes } : {}) };
}

/** Plans a tiny state once at `now`, so that the schema validator is compiled before the first real pass. */
export function warmUp(now: number): void {
  const booking: BookingView = {
    key: 'warm/up', specRevision: 1, statusRevision: 0, createRevision: 1,
    booking: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'up', namespace: 'warm', uid: 'u', generation: 1 }, spec: { user: 'warm', nodes: ['n'], duration: 60 } },
  };
  plan({
    now, config: { admins: [], sshBypassUsers: [], minUid: 1000, defaultDuration: 3600, maxDuration: 86400, killWaitSeconds: 10, pamFailMode: 'closed', warnBefore: [], clockSkewSeconds: 2, userLimits: { bookings: 1000, bytes: 1 << 20 }, healing: { gracePeriod: 120 }, idleRelease: { enabled: false, after: 1800, warnBefore: 300, cpuPercent: 5 } },
    bookings: [booking], nodes: new Map([['n', { node: { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n' } }, statusRevision: 0, heartbeat: false }]]), calendars: new Map(),
  });
}

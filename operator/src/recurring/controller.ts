// Recurring bookings, the shell: while leading, watches BookingSchedules (an informer), reads the
// Bookings each owns from the planner's cache (label kiwi.dev/schedule, same namespace), asks
// planSchedule (pure) what to change, and writes it through the store: creates are
// create-if-absent under the occurrence's fixed name (a restart or a second leader cannot make
// one twice), updates and deletes compare the revision the cache saw, the status compares its own.
// The planner then admits each occurrence like any Booking; a refusal shows in the schedule's
// status at the next pass.
import { isDeepStrictEqual } from 'node:util';
import type { Booking, BookingSchedule, BookingScheduleStatus, Logger, Store } from '../../../crds/api/index.js';
import { AlreadyExistsError, ConflictError, effectiveConfig, Informer, NotFoundError } from '../../../crds/api/index.js';
import type { ClusterCache } from '../reconcile/cache.js';
import type { Clock } from '../reconcile/index.js';
import type { BookingView } from '../plan/index.js';
import { Checked } from '../reconcile/checked.js';
import { PassLoop } from '../reconcile/loop.js';
import { planSchedule } from './occurrences.js';
import { SCHEDULE_LABEL } from '../../../crds/api/types.js';

export interface ScheduleOptions {
  store: Store;
  cache: ClusterCache;
  log: Logger;
  clock?: Clock;
  /** Between passes when nothing pokes, ms (default 30 s): new occurrences enter the horizon. */
  intervalMs?: number;
}

export class ScheduleController {
  private readonly informer: Informer<'BookingSchedule'>;
  private readonly checked = new Checked<BookingSchedule>();
  private readonly clock: Clock;
  private readonly loop: PassLoop;
  passes = 0;

  constructor(private readonly opts: ScheduleOptions) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.informer = new Informer(opts.store, 'BookingSchedule', { onEvent: () => this.poke(), onError: (err) => opts.log.warn({ err }, 'recurring: schedule watch failed; re-listing') });
    this.loop = new PassLoop(() => this.pass(), { name: 'recurring', log: opts.log, clock: this.clock, intervalMs: opts.intervalMs ?? 30_000 });
  }

  async start(): Promise<void> {
    await this.informer.start();
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.informer.stop();
  }

  /** A schedule or an occurrence changed: pass again soon. */
  poke(): void {
    this.loop.poke();
  }

  /** One pass over every schedule, and over occurrences whose schedule is gone. */
  async pass(): Promise<void> {
    this.passes++;
    const now = this.clock.now();
    const owned = new Map<string, BookingView[]>();
    // Keys per user, against userLimits.bookings: everything that counts there (bookings, schedules,
    // subscriptions, dry runs), so that no occurrence made goes past the limit and is Rejected for it.
    const held = new Map([...this.opts.cache.heldByUser()].map(([u, x]) => [u, x.keys]));
    for (const v of this.opts.cache.bookings()) {
      const m = v.booking.metadata;
      const rule = m.labels?.[SCHEDULE_LABEL];
      if (v.invalid || !rule || !m.annotations?.['kiwi.dev/occurrence']) continue;
      const k = `${m.namespace}/${rule}`;
      owned.set(k, [...(owned.get(k) ?? []), v]);
    }
    const keep = new Set<string>();
    for (const raw of this.informer.list()) {
      const path = `${raw.metadata.namespace}/${raw.metadata.name}`;
      keep.add(path);
      const c = this.checked.check(raw, (problem) => this.opts.log.warn({ schedule: path, problem }, 'recurring: ignoring a BookingSchedule that is not valid'));
      if ('problem' in c) {
        await this.writeStatus(raw, { observedGeneration: raw.metadata.generation ?? 1, message: `not valid, no occurrence is made: ${c.problem}`.slice(0, 4096) });
        continue;
      }
      const room = effectiveConfig(this.opts.cache.config()).userLimits.bookings - (held.get(raw.metadata.namespace!) ?? 0);
      const made = await this.apply(c.ok, owned.get(path) ?? [], now, room);
      held.set(raw.metadata.namespace!, (held.get(raw.metadata.namespace!) ?? 0) + made); // the user's next schedule sees these
    }
    this.checked.forget(keep);
    // Occurrences of a deleted schedule: those not begun go, the others stay for the record.
    for (const [path, views] of owned) if (!keep.has(path)) await this.apply(undefined, views, now, Infinity, path);
  }

  private async apply(s: BookingSchedule | undefined, views: BookingView[], now: number, room = Infinity, path = `${s?.metadata.namespace}/${s?.metadata.name}`): Promise<number> {
    const { store, log } = this.opts;
    const a = planSchedule(s, views.map((v) => v.booking), now, room);
    const byName = new Map(views.map((v) => [v.booking.metadata.name!, v]));
    const ns = path.split('/')[0];
    const tolerate = (what: string, name: string) => (err: unknown) => {
      if (err instanceof ConflictError || err instanceof NotFoundError || err instanceof AlreadyExistsError) {
        log.debug({ err, schedule: path, booking: `${ns}/${name}` }, `recurring: ${what} raced another change; next pass`);
        this.poke();
        return;
      }
      throw err;
    };
    for (const name of a.delete) {
      const v = byName.get(name)!;
      await store.delete({ kind: 'Booking', namespace: ns, name }, { resourceVersion: String(v.specRevision) }).then(
        () => log.info({ schedule: path, booking: `${ns}/${name}` }, 'recurring: occurrence deleted (not begun, no longer in the rule)'),
        tolerate('delete', name),
      );
    }
    for (const b of a.create)
      await store.create(b).then(
        () => log.info({ schedule: path, booking: `${ns}/${b.metadata.name}`, start: b.spec.start }, 'recurring: occurrence made'),
        tolerate('create', b.metadata.name!),
      );
    for (const b of a.update) {
      const v = byName.get(b.metadata.name!)!;
      const next: Booking = { ...b, metadata: { ...b.metadata, resourceVersion: String(v.specRevision) } };
      delete (next as { status?: unknown }).status;
      await store.update(next).then(
        () => log.info({ schedule: path, booking: `${ns}/${b.metadata.name}`, start: b.spec.start }, 'recurring: occurrence changed with its rule'),
        tolerate('update', b.metadata.name!),
      );
    }
    if (s && a.status) await this.writeStatus(s, a.status);
    return a.create.length - a.delete.length;
  }

  private async writeStatus(s: BookingSchedule, status: BookingScheduleStatus): Promise<void> {
    const prev = (s as BookingSchedule & { status?: BookingScheduleStatus }).status;
    if (isDeepStrictEqual(prev, status)) return;
    const path = `${s.metadata.namespace}/${s.metadata.name}`;
    await this.opts.store
      .updateStatus({ kind: 'BookingSchedule', namespace: s.metadata.namespace!, name: s.metadata.name! }, status, { expectedStatusRevision: this.informer.getStored(path)?.statusRevision ?? 0 })
      .catch((err) => {
        this.poke();
        this.opts.log.debug({ err, schedule: path }, 'recurring: status not written; next pass');
      });
  }
}

// kiwictl extend BOOKING -t +30m | -15m | 3h: change how long a booking lasts. Writes the new
// spec.duration (or spec.end) with a compare-and-swap, waits until the operator has answered
// that generation (status.observedGeneration), then reports the new end or the refusal
// (exit 9, naming the conflict).
import type { Command } from 'commander';
import { NotFoundError } from '../../../../crds/api/errors.js';
import type { Booking } from '../../../../crds/api/types.js';
import { effectiveConfig } from '../../../../crds/api/config.js';
import { formatDuration } from '../../../../crds/api/duration.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { bookingRef, findBooking, parseTimeout, readConfig, requireOwnerOrAdmin, updateSpec, watchUntil } from '../bookings.js';
import { RefusedError } from '../../errors.js';
import { shortTime } from '../../printers/format.js';
import { planExtend, type ExtendChange, type ExtendPlan } from '../../../../crds/api/extend.js';
import { parseExtend } from './plan.js';

export class ExtendOptions implements Options {
  name = '';
  change!: ExtendChange;
  namespace?: string;
  timeoutMs?: number;

  complete(args: string[], flags: { time?: string; namespace?: string; timeout?: string }): void {
    this.name = args[0] ?? '';
    this.namespace = flags.namespace;
    this.change = parseExtend(flags.time);
    this.timeoutMs = parseTimeout(flags.timeout ?? '30s');
  }

  validate(): void {
    if (!this.name) throw usage('extend needs a BOOKING: kiwictl extend bk-x7k2q -t +30m');
  }

  async run(ctx: Ctx): Promise<void> {
    const reader = await ctx.client.reader();
    const found = await findBooking(reader, this.name, this.namespace);
    await requireOwnerOrAdmin(reader, found, 'extend');
    const config = effectiveConfig(await readConfig(reader));
    const ref = bookingRef(found.metadata.namespace!, found.metadata.name!);
    const name = `${ref.namespace}/${ref.name}`;
    let plan!: ExtendPlan;
    const { object, changed } = await updateSpec(ctx, ref, (b) => {
      plan = planExtend(b, this.change, Date.now(), config.defaultDuration);
      const before = JSON.stringify(b.spec);
      if (plan.patch.end !== undefined) b.spec.end = plan.patch.end;
      if (plan.patch.duration !== undefined) b.spec.duration = plan.patch.duration;
      return JSON.stringify(b.spec) !== before;
    });
    const gen = object.metadata.generation ?? 1;
    if (!changed) {
      const st = object.status ?? {};
      ctx.out(`booking ${name} already ends then${st.endTime ? ` (${shortTime(st.endTime, new Date())}, ${st.endTime})` : ''}; nothing changed\n`);
      return;
    }
    const b = await watchUntil(ctx, ref, (x) => {
      if (!x) throw new NotFoundError(`booking ${name} was deleted`);
      return (x.status?.observedGeneration ?? 0) >= gen ? x : undefined;
    }, { timeoutMs: this.timeoutMs, what: `the operator to answer the change of booking ${name} (generation ${gen}; is kiwi-operator running?)` });
    const st = b.status ?? {};
    const now = new Date();
    const refused = st.conditions?.find((c) => c.type === 'ExtendRefused' && c.status === 'True');
    if (refused && st.phase === 'Active' && (plan.newEnd === undefined || Date.parse(st.endTime ?? '') !== plan.newEnd)) {
      await revertSpec(ctx, b);
      throw new RefusedError(`extend of booking ${name} refused: ${refused.message ?? st.message}; it still ends at ${st.endTime ? shortTime(st.endTime, now) : '?'} (${st.endTime})`);
    }
    if (st.phase === 'Expired') {
      if (st.reason === 'Rejected') throw new RefusedError(`booking ${name} was refused after the change: ${st.message}`);
      ctx.out(`booking ${name} ended (${st.reason}${st.message ? `: ${st.message}` : ''})\n`);
      return;
    }
    const endTxt = st.endTime ? `${shortTime(st.endTime, now)} (${st.endTime})` : 'when planned';
    const was = plan.oldEnd !== undefined && st.endTime && Date.parse(st.endTime) !== plan.oldEnd ? `, was ${shortTime(new Date(plan.oldEnd).toISOString(), now)}` : '';
    const left = st.endTime && st.phase === 'Active' ? `; ${formatDuration((Date.parse(st.endTime) - now.getTime()) / 1000)} left` : '';
    ctx.out(`booking ${name} ${st.phase === 'Pending' ? 'is planned to end' : 'now ends'} at ${endTxt}${was}${left}\n`);
  }
}

/**
 * After a refusal, puts the spec back to what is in force (the held slot), so that the spec
 * does not claim a length the booking does not have. Only if nobody changed the spec since.
 */
async function revertSpec(ctx: Ctx, b: Booking): Promise<void> {
  const st = b.status ?? {};
  if (!st.startTime || !st.endTime) return;
  const ref = bookingRef(b.metadata.namespace!, b.metadata.name!);
  await updateSpec(ctx, ref, (cur) => {
    if (cur.metadata.generation !== b.metadata.generation) return false; // changed meanwhile: leave it to whoever did
    if (cur.spec.end !== undefined) cur.spec.end = st.endTime!.replace(/\.000Z$/, 'Z');
    else cur.spec.duration = Math.round((Date.parse(st.endTime!) - Date.parse(st.startTime!)) / 1000);
    return true;
  });
}

export function registerExtend(program: Command): Command {
  return program
    .command('extend')
    .description('Make a booking longer or shorter; the operator applies it if the nodes\' calendars allow, else says what is in the way (exit 9)')
    .argument('[booking]', 'booking name (NAME, or NAMESPACE/NAME)')
    .option('-t, --time <change>', '+DURATION to add, -DURATION to take off, DURATION for a new total (e.g. +30m, -15m, 3h)')
    .option('-n, --namespace <namespace>', 'namespace (user) of the booking (default: yours, else the only booking of that name)')
    .option('--timeout <duration>', 'how long to wait for the operator\'s answer (exit 8 after)', '30s')
    .addHelpText(
      'after',
      examples('# Half an hour more', 'kiwictl extend bk-x7k2q -t +30m', '# Give 15 minutes back', 'kiwictl extend bk-x7k2q -t -15m', '# 3 hours in total from its start', 'kiwictl extend bk-x7k2q -t 3h'),
    )
    .action(verbAction(() => new ExtendOptions()));
}

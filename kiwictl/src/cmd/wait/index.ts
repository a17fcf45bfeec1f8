// kiwictl wait BOOKING --for=phase=Active [--timeout 10m]: block until a booking reaches a
// state, with a live status line (redrawn in place on a terminal, a line per change otherwise).
// Exit 0 when it does, 8 on --timeout, 9 when it never can (e.g. Expired while waiting for Active).
import type { Command } from 'commander';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { bookingRef, findBooking, parseTimeout, StatusLine, watchUntil } from '../bookings.js';
import { RefusedError } from '../../errors.js';
import { statusLine } from '../alloc/report.js';
import { describeFor, evaluate, parseFor, type WaitFor } from './condition.js';

export class WaitOptions implements Options {
  name = '';
  for!: WaitFor;
  namespace?: string;
  timeoutMs?: number;
  quiet = false;

  complete(args: string[], flags: { for?: string; namespace?: string; timeout?: string; quiet?: boolean }): void {
    this.name = args[0] ?? '';
    this.for = parseFor(flags.for);
    this.namespace = flags.namespace;
    this.timeoutMs = parseTimeout(flags.timeout);
    this.quiet = Boolean(flags.quiet);
  }

  validate(): void {
    if (!this.name) throw usage('wait needs a BOOKING: kiwictl wait bk-x7k2q --for=phase=Active');
  }

  async run(ctx: Ctx): Promise<void> {
    const signal = ctx.handleInterrupts();
    const reader = await ctx.client.reader();
    const b = await findBooking(reader, this.name, this.namespace);
    const ref = bookingRef(b.metadata.namespace!, b.metadata.name!);
    const name = `${ref.namespace}/${ref.name}`;
    const line = new StatusLine(ctx.err, Boolean(process.stderr.isTTY));
    try {
      await watchUntil(
        ctx,
        ref,
        (x) => {
          if (!this.quiet) line.follow(() => statusLine(x, new Date()));
          const v = evaluate(this.for, x);
          if (v.met) return true;
          if (v.never) throw new RefusedError(`booking ${name} will never reach ${describeFor(this.for)}: ${v.never}`);
          return undefined;
        },
        { timeoutMs: this.timeoutMs, signal, what: `booking ${name} to reach ${describeFor(this.for)}` },
      );
    } finally {
      line.done();
    }
    ctx.out(`booking ${name} ${this.for.kind === 'delete' ? 'deleted' : `reached ${describeFor(this.for)}`}\n`);
  }
}

export function registerWait(program: Command): Command {
  return program
    .command('wait')
    .description('Wait until a booking reaches a phase or condition, or is deleted, showing its status as it changes')
    .argument('[booking]', 'booking name (NAME, or NAMESPACE/NAME)')
    .option('--for <condition>', 'phase=Pending|Active|Expired, condition=TYPE[=True|False], or delete')
    .option('-n, --namespace <namespace>', 'namespace (user) of the booking (default: yours, else the only booking of that name)')
    .option('--timeout <duration>', 'give up after this long (exit 8); default: wait for ever')
    .option('-q, --quiet', 'no status line')
    .addHelpText(
      'after',
      examples('kiwictl wait bk-x7k2q --for=phase=Active', '# In a script: at most 10 minutes', 'kiwictl wait bk-x7k2q --for=phase=Active --timeout 10m && ssh n01', 'kiwictl wait bk-x7k2q --for=condition=ExtendRefused', 'kiwictl wait bk-x7k2q --for=delete'),
    )
    .action(verbAction(() => new WaitOptions()));
}

// kiwictl drain NODE...: cordon and ask the operator to drain (the kiwi.dev/drain annotation:
// the node shows Draining, then Drained once no booking holds it), then wait until no Active
// booking holds the nodes, showing which bookings still do and until when. --cancel ends those
// bookings instead of waiting for their end. Bookings waiting for the nodes are moved or held
// back by the operator as soon as the nodes are cordoned.
import type { Command } from 'commander';
import type { Booking } from '../../../../crds/api/types.js';
import { NotFoundError } from '../../../../crds/api/errors.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { bookingRef, parseTimeout, requireAdmin, StatusLine, updateSpec } from '../bookings.js';
import { setUnschedulable } from '../cordon/index.js';
import { holdersOf } from '../kill/index.js';
import { shortTime } from '../../printers/format.js';
import { InterruptedError } from '../../errors.js';
import { TimeoutError } from '../../../../crds/api/errors.js';

/** Pure: "n01: alice/bk-1 until 15:30; n02: free". */
export function drainProgress(nodes: string[], bookings: Booking[], now: Date): { line: string; busy: number } {
  let busy = 0;
  const parts = nodes.map((n) => {
    const hs = holdersOf(bookings, n);
    if (!hs.length) return `${n}: free`;
    busy++;
    return `${n}: ${hs.map((b) => `${b.metadata.namespace}/${b.metadata.name} until ${b.status?.endTime ? shortTime(b.status.endTime, now) : '?'}`).join(', ')}`;
  });
  return { line: `draining ${busy ? `(${busy} of ${nodes.length} still held)` : ''} ${parts.join('; ')}`.replace('  ', ' '), busy };
}

export class DrainOptions implements Options {
  nodes: string[] = [];
  cancel = false;
  wait = true;
  timeoutMs?: number;
  reason = 'kiwictl drain';

  complete(args: string[], flags: { cancel?: boolean; wait?: boolean; timeout?: string; reason?: string }): void {
    this.nodes = args;
    if (flags.reason !== undefined) this.reason = flags.reason;
    this.cancel = Boolean(flags.cancel);
    this.wait = flags.wait !== false;
    this.timeoutMs = parseTimeout(flags.timeout);
  }

  validate(): void {
    if (!this.nodes.length) throw usage('drain needs a NODE (see `kiwictl info`)');
  }

  async run(ctx: Ctx): Promise<void> {
    const signal = ctx.handleInterrupts();
    await requireAdmin(await ctx.client.reader(), 'drain');
    for (const n of this.nodes) ctx.out(`node.kiwi.dev/${n} ${(await setUnschedulable(ctx, n, true, this.reason)) ? 'cordoned' : 'already cordoned'}\n`);
    const store = await ctx.client.store();
    if (this.cancel) {
      for (const n of this.nodes) {
        for (const b of holdersOf(await store.list('Booking'), n)) {
          await updateSpec(ctx, bookingRef(b.metadata.namespace!, b.metadata.name!), (x) => (x.spec.cancelled ? false : ((x.spec.cancelled = true), true))).catch((e) => {
            if (!(e instanceof NotFoundError)) throw e;
          });
          ctx.out(`booking ${b.metadata.namespace}/${b.metadata.name} cancelled (it held ${n})\n`);
        }
      }
    }
    if (!this.wait) return;
    const line = new StatusLine(ctx.err, Boolean(process.stderr.isTTY));
    const { Informer } = await import('../../../../crds/api/informer.js');
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    const informer: InstanceType<typeof Informer<'Booking'>> = new Informer(store, 'Booking', {
      onSync: () => check(),
      onEvent: () => check(),
      onError: (err) => ctx.err(`warning: watch interrupted (${err.message.split('\n')[0]}); resuming\n`),
    });
    const check = () => {
      const p = drainProgress(this.nodes, informer.list(), new Date());
      line.show(p.line);
      if (p.busy === 0) resolve();
    };
    // Re-draw the time left now and then even when nothing changes.
    const ticker = process.stderr.isTTY ? setInterval(check, 1000) : undefined;
    const timer = this.timeoutMs !== undefined ? setTimeout(() => reject(new TimeoutError(`timed out after ${this.timeoutMs! / 1000}s: the nodes are cordoned but still held (see above); end the bookings with --cancel or kiwictl kill -w NODE`)), this.timeoutMs) : undefined;
    const onAbort = () => reject(new InterruptedError('interrupted; the nodes stay cordoned (kiwictl uncordon to undo)'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await informer.start();
      await done;
    } finally {
      if (ticker) clearInterval(ticker);
      if (timer) clearTimeout(timer);
      line.done();
      await informer.stop();
    }
    for (const n of this.nodes) ctx.out(`node.kiwi.dev/${n} drained: no booking holds it\n`);
  }
}

export function registerDrain(program: Command): Command {
  return program
    .command('drain')
    .description('Cordon nodes and wait until no booking holds them, showing which still do (--cancel ends them). Admins only')
    .argument('[nodes...]', 'node names')
    .option('--cancel', 'end the bookings that hold the nodes now instead of waiting for their end')
    .option('--no-wait', 'cordon (and with --cancel, cancel) but do not wait')
    .option('--timeout <duration>', 'give up waiting after this long (exit 8); the nodes stay cordoned')
    .option('--reason <text>', 'why, shown in the node status and its events', 'kiwictl drain')
    .addHelpText('after', examples('# Take n01 out after its current booking', 'kiwictl drain n01', '# Now: end what runs there', 'kiwictl drain n01 --cancel', '# Put it back', 'kiwictl uncordon n01'))
    .action(verbAction(() => new DrainOptions()));
}

// kiwictl kill BOOKING... | -w NODE: end bookings now. Sets spec.cancelled (the operator makes
// the booking Expired, reason Cancelled, and frees its nodes; the record stays), then waits for
// the operator to confirm unless --no-wait.
import type { Command } from 'commander';
import type { Booking } from '../../../../crds/api/types.js';
import { NotFoundError } from '../../../../crds/api/errors.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { bookingRef, callerName, findBooking, parseTimeout, readConfig, requireOwnerOrAdmin, updateSpec, watchUntil } from '../bookings.js';
import { isAdmin } from '../../../../crds/api/users.js';
import type { Reader } from '../../client/reader.js';
import { RefusedError } from '../../errors.js';

interface KillFlags {
  user?: string;
  all?: boolean;
  nodelist?: string;
  namespace?: string;
  wait?: boolean;
  timeout?: string;
}

/** Pure: the Active (or about to be) bookings that hold `node` now. */
export function holdersOf(bookings: Booking[], node: string): Booking[] {
  return bookings.filter((b) => b.status?.phase === 'Active' && (b.status.nodes ?? []).includes(node));
}

/** Pure: the bookings `kill -u USER` ends: the user's that are not over (scancel -u). */
export function liveBookingsOf(bookings: Booking[], user: string): Booking[] {
  return bookings.filter((b) => b.metadata.namespace === user && b.status?.phase !== 'Expired' && !b.spec.cancelled);
}

export class KillOptions implements Options {
  names: string[] = [];
  user?: string;
  nodes: string[] = [];
  namespace?: string;
  wait = true;
  timeoutMs?: number;

  complete(args: string[], flags: KillFlags): void {
    this.names = args;
    if (flags.user !== undefined && flags.all) throw usage('give -u USER or --all (all of yours), not both');
    this.user = flags.all ? callerName() : flags.user;
    this.nodes = flags.nodelist ? flags.nodelist.split(',').map((s) => s.trim()).filter(Boolean) : [];
    this.namespace = flags.namespace;
    this.wait = flags.wait !== false;
    this.timeoutMs = parseTimeout(flags.timeout ?? '30s');
  }

  validate(): void {
    const ways = [this.names.length > 0, this.nodes.length > 0, this.user !== undefined].filter(Boolean).length;
    if (ways > 1) throw usage('give BOOKING names, -w NODE, or -u USER / --all, not two of them');
    if (!ways) throw usage('kill needs a BOOKING name (see `kiwictl get bookings`), -w NODE, or -u USER / --all');
  }

  async run(ctx: Ctx): Promise<void> {
    const reader = await ctx.client.reader();
    const targets = this.user !== undefined
      ? liveBookingsOf(await reader.list('Booking', { namespace: this.user }), this.user)
      : this.names.length
        ? await Promise.all(this.names.map((n) => findBooking(reader, n, this.namespace)))
        : await this.onNodes(reader);
    if (this.user !== undefined && !targets.length) return ctx.out(`no bookings of ${this.user} to end (none is Pending or Active)\n`);
    for (const b of targets) {
      await requireOwnerOrAdmin(reader, b, 'kill');
      if (b.status?.phase === 'Expired')
        throw new RefusedError(`booking ${b.metadata.namespace}/${b.metadata.name} already ended (${b.status.reason ?? 'Expired'}${b.status.message ? `: ${b.status.message}` : ''}); nothing to kill`);
    }
    for (const b of targets) {
      const ref = bookingRef(b.metadata.namespace!, b.metadata.name!);
      const name = `${ref.namespace}/${ref.name}`;
      await updateSpec(ctx, ref, (x) => (x.spec.cancelled ? false : ((x.spec.cancelled = true), true)));
      if (!this.wait) {
        ctx.out(`booking ${name} cancelled (the operator ends it shortly)\n`);
        continue;
      }
      const st = await watchUntil(ctx, ref, (x) => (x === undefined ? ({ phase: 'Deleted' } as const) : x.status?.phase === 'Expired' ? x.status : undefined), {
        timeoutMs: this.timeoutMs,
        what: `the operator to end booking ${name} (spec.cancelled is set; is kiwi-operator running?)`,
      });
      ctx.out(st.phase === 'Deleted' ? `booking ${name} deleted\n` : `booking ${name} cancelled: Expired (${(st as any).reason ?? 'Cancelled'})\n`);
    }
  }

  private async onNodes(reader: Reader): Promise<Booking[]> {
    const known = new Set((await reader.list('Node')).map((n) => n.metadata.name));
    for (const n of this.nodes) if (!known.has(n)) throw new NotFoundError(`node ${n} does not exist; see \`kiwictl info\``);
    const caller = callerName();
    const admin = isAdmin(caller, (await readConfig(reader))?.spec?.admins, process.getuid?.());
    const all = await reader.list('Booking', { namespace: admin ? this.namespace : this.namespace ?? caller });
    const out = new Map<string, Booking>();
    for (const n of this.nodes) {
      const hs = holdersOf(all, n).filter((b) => admin || b.metadata.namespace === caller);
      if (!hs.length) throw new NotFoundError(`no Active booking${admin ? '' : ' of yours'} holds node ${n}; see \`kiwictl info\``);
      for (const b of hs) out.set(`${b.metadata.namespace}/${b.metadata.name}`, b);
    }
    return [...out.values()];
  }
}

export function registerKill(program: Command): Command {
  return program
    .command('kill')
    .description('End bookings now (they become Expired, reason Cancelled, and stay for the record); the user\'s processes on the nodes are cleaned up')
    .argument('[bookings...]', 'booking names (NAME, or NAMESPACE/NAME)')
    .option('-w, --nodelist <nodes>', 'end the Active booking(s) holding these nodes instead (yours; an admin\'s: anybody\'s)')
    .option('-u, --user <user>', 'end every Pending or Active booking of this user (yours; an admin: anybody\'s), as scancel -u')
    .option('--all', 'end every Pending or Active booking of yours')
    .option('-n, --namespace <namespace>', 'namespace (user) of the bookings (default: yours, else the only booking of that name)')
    .option('--no-wait', 'do not wait for the operator to confirm')
    .option('--timeout <duration>', 'how long to wait for the operator (exit 8 after)', '30s')
    .addHelpText('after', examples('kiwictl kill bk-x7k2q', '# Whatever of yours holds n01', 'kiwictl kill -w n01', '# An admin ending a user\'s booking', 'kiwictl kill alice/bk-x7k2q', '# Everything of yours; everything of alice\'s (admins)', 'kiwictl kill --all', 'kiwictl kill -u alice'))
    .action(verbAction(() => new KillOptions()));
}

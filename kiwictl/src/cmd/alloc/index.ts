// kiwictl alloc: book nodes (-w names, or --count N [-l selector]) for a time, then say how to
// log in or where the booking waits in line and until when. --wait waits until it is Active.
import type { Command } from 'commander';
import type { Booking, Node } from '../../../../crds/api/types.js';
import { AlreadyExistsError, ForbiddenError, InvalidError, NotFoundError } from '../../../../crds/api/errors.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { bookingRef, callerName, parseTimeout, readConfig, StatusLine, userExists, watchUntil } from '../bookings.js';
import { isAdmin } from '../../../../crds/api/users.js';
import { RefusedError } from '../../errors.js';
import { allocReport, answered, dryRunReport, statusLine } from './report.js';
import { parseDryRun, type DryRun } from '../apply/index.js';
import { allocRequest, bookingFor, type AllocFlags, type AllocRequest } from './spec.js';
import { randomName } from '../../../../crds/api/keys.js';

/** How long alloc (without --wait) waits for the operator's first answer, by default. */
export const FIRST_ANSWER_MS = 10_000;

export class AllocOptions implements Options {
  req!: AllocRequest;
  wait = false;
  timeoutMs?: number;
  userCheck = true;
  output?: 'name' | 'json';
  dryRun: DryRun = 'none';

  complete(_args: string[], flags: AllocFlags & { dryRun?: string | boolean }): void {
    this.dryRun = parseDryRun(flags.dryRun);
    this.req = allocRequest(flags, Date.now());
    this.wait = Boolean(flags.wait);
    this.timeoutMs = parseTimeout(flags.timeout);
    this.userCheck = flags.userCheck !== false;
    if (flags.output !== undefined) {
      if (flags.output !== 'name' && flags.output !== 'json') throw usage(`-o ${flags.output}: alloc prints name or json (or, without -o, how to log in)`);
      this.output = flags.output;
    }
  }

  validate(): void {
    if (this.dryRun !== 'none' && this.wait) throw usage('--dry-run books nothing, so there is nothing to --wait for');
  }

  /** squeue --start / sbatch --test-only: when would this start (server), or is it valid (client). */
  private async runDry(ctx: Ctx): Promise<void> {
    const { booking } = await checkAlloc(ctx, this.req, { userCheck: this.userCheck });
    if (this.dryRun === 'client') return ctx.out(`booking.kiwi.dev/${booking.metadata.name} created (dry run)\n`);
    const { askDryRun } = await import('../../../../crds/api/dryrun.js');
    const a = await askDryRun(await ctx.client.store(), booking);
    if (a.error) throw new RefusedError(`the operator refused the dry run: ${a.error}`);
    const r = dryRunReport({ ...booking, status: a.status }, new Date());
    if (this.output === 'json') ctx.out(JSON.stringify({ ...booking, status: a.status }, null, 2) + '\n');
    else if (r.text) ctx.out(r.text);
    if (r.refused) throw new RefusedError(r.refused);
  }

  async run(ctx: Ctx): Promise<void> {
    if (this.dryRun !== 'none') return this.runDry(ctx);
    const signal = this.wait ? ctx.handleInterrupts() : undefined;
    const { booking, nodes } = await allocate(ctx, this.req, { userCheck: this.userCheck });
    const ref = bookingRef(booking.metadata.namespace!, booking.metadata.name!);
    const line = new StatusLine(ctx.err, Boolean(process.stderr.isTTY));
    const final = await watchUntil(
      ctx,
      ref,
      (b) => {
        if (!b) throw new NotFoundError(`booking ${ref.namespace}/${ref.name} was deleted`);
        if (this.wait) line.follow(() => statusLine(b, new Date()));
        if (!answered(b)) return undefined;
        if (!this.wait || b.status!.phase !== 'Pending') return b;
        return undefined;
      },
      {
        timeoutMs: this.wait ? this.timeoutMs : this.timeoutMs ?? FIRST_ANSWER_MS,
        signal,
        // The booking exists either way: say so, and that an operator will plan it when one runs.
        what: this.wait
          ? `booking ${ref.namespace}/${ref.name} to become Active`
          : `the operator to plan booking ${ref.namespace}/${ref.name} (it is created and will be planned once an operator runs: is kiwi-operator running? see it with kiwictl get booking ${ref.name} -n ${ref.namespace})`,
      },
    ).finally(() => line.done());
    line.done();
    const r = allocReport(final, nodes, new Date());
    if (this.output === 'name') ctx.out(`booking.kiwi.dev/${final.metadata.name}\n`);
    else if (this.output === 'json') ctx.out(JSON.stringify(final, null, 2) + '\n');
    else if (r.text) ctx.out(r.text);
    if (r.refused) throw new RefusedError(r.refused);
  }
}

/**
 * Checks who books for whom, that the user and the nodes exist, and creates the booking.
 * Shared with `kiwictl run`.
 */
export async function allocate(ctx: Ctx, req: AllocRequest, o: { userCheck: boolean }): Promise<{ booking: Booking; nodes: Map<string, Node> }> {
  const { user, nodes } = await checkAlloc(ctx, req, o);
  const { validateObject } = await import('../../../../crds/api/validate.js');
  const store = await ctx.client.writer();
  for (let attempt = 0; ; attempt++) {
    const name = req.name ?? randomName();
    const b = validateObject(bookingFor(req, user, name), `booking ${user}/${name}`) as Booking;
    try {
      return { booking: await store.create(b), nodes };
    } catch (e) {
      if (e instanceof AlreadyExistsError && !req.name && attempt < 3) continue; // a random name that is taken: draw again
      if (e instanceof AlreadyExistsError) throw new AlreadyExistsError(`booking ${user}/${name} already exists; pick another --name, or leave --name out for a random one`);
      throw e;
    }
  }
}

/** Who books for whom, that the user and the nodes exist; the booking as it would be written. */
export async function checkAlloc(ctx: Ctx, req: AllocRequest, o: { userCheck: boolean }): Promise<{ user: string; nodes: Map<string, Node>; booking: Booking }> {
  const caller = callerName();
  const user = req.user ?? caller;
  const reader = await ctx.client.reader();
  if (user !== caller && !isAdmin(caller, (await readConfig(reader))?.spec?.admins, process.getuid?.()))
    throw new ForbiddenError(`only admins (root, or users in ClusterConfig default's admins) may book for another user; you are ${caller}: drop -u ${user}, or ask an admin`);
  if (user === 'root') throw new InvalidError('root cannot book nodes (root may always log in); book for a user with -u USER');
  if (o.userCheck && !userExists(user))
    throw new InvalidError(`user "${user}" does not exist on this machine (getent passwd ${user} found nobody); check the name, or pass --no-user-check if the user exists only on the nodes`);
  const nodes = new Map((await reader.list('Node')).map((n) => [n.metadata.name!, n]));
  const unknown = (req.nodes ?? []).filter((n) => !nodes.has(n));
  if (unknown.length)
    throw new NotFoundError(`node${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ${unknown.length > 1 ? 'do' : 'does'} not exist; see the nodes with \`kiwictl info\``);
  const { validateObject } = await import('../../../../crds/api/validate.js');
  const name = req.name ?? randomName();
  const booking = validateObject(bookingFor(req, user, name), `booking ${user}/${name}`) as Booking;
  return { user, nodes, booking };
}

/** The flags alloc and run share. */
export function allocFlags(cmd: Command): Command {
  return cmd
    .option('-u, --user <user>', 'book for this user (admins only; default: you)')
    .option('-w, --nodelist <nodes>', 'the nodes to book, comma-separated (n01,n02)')
    .option('-N, --count <n>', 'book this many nodes, chosen by Kiwi (with -l: among the matching ones)')
    .option('-l, --selector <labels>', 'with --count: nodes with these labels, KEY=VALUE[,KEY=VALUE]')
    .option('-t, --time <duration>', 'how long: 90 (seconds), 90s, 45m, 2h30m, 1:30:00, 1-00:00:00 (default: the cluster\'s defaultDuration)')
    .option('--start <time>', 'a fixed start: RFC 3339, 14:00, "tomorrow 09:00", now+30m (your time zone)')
    .option('--end <time>', 'a fixed end instead of -t')
    .option('--no-queue', 'if the nodes are busy, refuse instead of waiting in line')
    .option('--name <name>', 'the booking\'s name (default bk-<5 random characters>)')
    .option('--pool <pool>', 'book from this pool (kiwictl get pools; default: the default pool)')
    .option('--account <account>', 'the account that pays (default: yours; balances: `kiwictl usage --accounts`)')
    .option('--no-user-check', 'do not check that the user exists on this machine')
    .option('--idle-release', 'end the booking (reason Idle) once you have been idle on all its nodes for the cluster\'s idleRelease.after, after a warning')
    .option('--no-idle-release', 'never end it for idleness, whatever the cluster\'s default')
    .option('--on-node-failure <wait|end>', 'with -w: when a node stops heartbeating or is drained, keep the slot until it is back (wait, the default) or end the booking');
}

export function registerAlloc(program: Command): Command {
  return allocFlags(program.command('alloc').description('Book nodes for a time; print how to log in, or where the booking waits in line and until when'))
    .option('--wait', 'wait until the booking is Active (a live status line), then print how to log in')
    .option('--timeout <duration>', 'give up after this long (exit 8): with --wait, waiting for Active (default: never); without, for the operator\'s first answer (default 10s)')
    .option('-o, --output <format>', 'name or json instead of the text for people')
    .option('--dry-run [strategy]', 'book nothing: client (check the request) or server (ask the operator when it would start and after whom, as squeue --start)')
    .addHelpText(
      'after',
      examples(
        '# Two named nodes for 2 hours 30 minutes',
        'kiwictl alloc -w n01,n02 -t 2h30m',
        '# Any 4 nodes with an A100, for a day, waiting until they are yours',
        'kiwictl alloc --count 4 -l gpu=a100 -t 1-00:00:00 --wait',
        '# Reserve a node tomorrow morning',
        'kiwictl alloc -w n03 --start "tomorrow 09:00" -t 3h',
        '# Only if it is free now (else refused, exit 9)',
        'kiwictl alloc -w n01 -t 45m --no-queue',
        '# When would it start? Nothing is booked',
        'kiwictl alloc -w n01 -t 2h --dry-run=server',
        '# For another user (admins)',
        'kiwictl alloc -u alice -w n01 -t 1h',
      ),
    )
    .action(verbAction(() => new AllocOptions()));
}

// kiwictl run [alloc options] [-- CMD...]: book, wait until Active, run CMD on the first node
// over ssh (an interactive shell without CMD), end the booking when it exits, and exit with
// its exit code. Ctrl-C while waiting or running also ends the booking.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { Booking } from '../../../../crds/api/types.js';
import { NotFoundError } from '../../../../crds/api/errors.js';
import { collect, examples, verbAction, type Ctx, type Options } from '../verb.js';
import { bookingRef, parseTimeout, StatusLine, updateSpec, watchUntil } from '../bookings.js';
import { ExitWith, InterruptedError, RefusedError } from '../../errors.js';
import { allocate, allocFlags } from '../alloc/index.js';
import { allocRequest, type AllocFlags, type AllocRequest } from '../alloc/spec.js';
import { allocReport, answered, statusLine } from '../alloc/report.js';
import { sshArgs, splitWords } from './ssh.js';

interface RunFlags extends AllocFlags {
  identity?: string;
  sshOption?: string[];
  keep?: boolean;
}

export class RunOptions implements Options {
  req!: AllocRequest;
  command: string[] = [];
  timeoutMs?: number;
  userCheck = true;
  identity?: string;
  sshOptions: string[] = [];
  keep = false;

  complete(args: string[], flags: RunFlags): void {
    this.req = allocRequest(flags, Date.now());
    this.command = args;
    this.timeoutMs = parseTimeout(flags.timeout);
    this.userCheck = flags.userCheck !== false;
    this.identity = flags.identity;
    this.sshOptions = flags.sshOption ?? [];
    this.keep = Boolean(flags.keep);
  }

  validate(): void {
    if (process.env.KIWI_SSH_OPTS) splitWords(process.env.KIWI_SSH_OPTS); // unmatched quotes: refuse before booking
  }

  async run(ctx: Ctx): Promise<void> {
    const signal = ctx.handleInterrupts();
    const { booking, nodes } = await allocate(ctx, this.req, { userCheck: this.userCheck });
    const ref = bookingRef(booking.metadata.namespace!, booking.metadata.name!);
    const name = `${ref.namespace}/${ref.name}`;
    const end = async (why: string) => {
      if (this.keep) return ctx.err(`booking ${name} kept (--keep): end it with kiwictl kill ${name}\n`);
      try {
        await updateSpec(ctx, ref, (b) => (b.spec.cancelled ? false : ((b.spec.cancelled = true), true)));
        ctx.err(`booking ${name} ended (${why})\n`);
      } catch (e) {
        ctx.err(`warning: could not end booking ${name}: ${(e as Error).message}; end it with kiwictl kill ${name}\n`);
      }
    };
    const line = new StatusLine(ctx.err, Boolean(process.stderr.isTTY));
    let active: Booking;
    try {
      active = await watchUntil(
        ctx,
        ref,
        (b) => {
          if (!b) throw new NotFoundError(`booking ${name} was deleted while waiting`);
          line.follow(() => statusLine(b, new Date()));
          if (!answered(b) || b.status!.phase === 'Pending') return undefined;
          return b;
        },
        { timeoutMs: this.timeoutMs, signal, what: `booking ${name} to become Active` },
      );
    } catch (e) {
      line.done();
      await end(e instanceof InterruptedError ? 'interrupted' : 'gave up waiting');
      throw e;
    } finally {
      line.done();
    }
    const r = allocReport(active, nodes, new Date());
    if (r.refused) throw new RefusedError(r.refused);
    const first = active.status!.nodes![0];
    const args = sshArgs({
      user: active.metadata.namespace!,
      node: nodes.get(first),
      nodeName: first,
      command: this.command,
      tty: Boolean(process.stdin.isTTY && process.stdout.isTTY),
      env: process.env.KIWI_SSH_OPTS,
      identity: this.identity,
      options: this.sshOptions,
    });
    ctx.err(`running on ${first}: ssh ${args.join(' ')}\n`);
    const code = await new Promise<number>((resolve, reject) => {
      const p = spawn(process.env.KIWI_SSH ?? 'ssh', args, { stdio: 'inherit' });
      const onAbort = () => p.kill('SIGTERM');
      signal.addEventListener('abort', onAbort, { once: true });
      p.once('error', (e) => reject(new Error(`cannot start ssh: ${e.message}; is the OpenSSH client installed?`)));
      p.once('exit', (c, sig) => {
        signal.removeEventListener('abort', onAbort);
        resolve(c ?? (sig === 'SIGINT' ? 130 : 128 + 15));
      });
    }).catch(async (e) => {
      await end('ssh failed');
      throw e;
    });
    await end(signal.aborted ? 'interrupted' : `the command exited with ${code}`);
    if (signal.aborted) throw new InterruptedError(`interrupted; booking ${name} ended`);
    if (code === 255) ctx.err(`ssh exited with 255: ssh itself failed (see its message above), or the command did\n`);
    if (code !== 0) throw new ExitWith(code);
  }
}

export function registerRun(program: Command): Command {
  return allocFlags(
    program
      .command('run')
      .description('Book nodes, wait until Active, run a command on the first one over ssh (a shell without one), then end the booking and exit with the command\'s exit code')
      .argument('[command...]', 'the command to run on the node (after --), as ssh passes it'),
  )
    .option('--timeout <duration>', 'give up waiting for the booking after this long (exit 8; the booking is ended)')
    .option('-i, --identity <file>', 'ssh private key (ssh -i)')
    .option('--ssh-option <option>', 'an ssh -o option, e.g. StrictHostKeyChecking=no (repeatable); more ssh arguments in $KIWI_SSH_OPTS', collect)
    .option('--keep', 'do not end the booking when the command exits')
    .addHelpText(
      'after',
      examples(
        '# A job on one node for at most 2 hours; the booking ends when the job does',
        'kiwictl run -w n01 -t 2h -- ./train.sh --epochs 10',
        '# An interactive shell on any GPU node',
        'kiwictl run --count 1 -l gpu=a100 -t 1h',
        '# With a key and options for ssh (also: KIWI_SSH_OPTS="-i ~/.ssh/cluster")',
        'kiwictl run -w n01 -t 30m -i ~/.ssh/cluster --ssh-option StrictHostKeyChecking=accept-new -- hostname',
      ) + '\nExit code: the command\'s own (ssh\'s 255 if ssh failed); kiwictl\'s codes (see kiwictl --help) before the command ran.\n',
    )
    .action(verbAction(() => new RunOptions()));
}

// kiwictl delete KIND NAME... | -f FILE: delete objects (spec and status together). Deleting a
// booking ends it; `kiwictl kill` cancels it and keeps it for the record instead.
import type { Command } from 'commander';
import type { KindInfo } from '../../../../crds/api/kinds.js';
import { kindInfo } from '../../../../crds/api/kinds.js';
import { NotFoundError } from '../../../../crds/api/errors.js';
import type { ObjectRef } from '../../../../crds/api/keys.js';
import { collect, examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { namespaceFor, refForArg, refOf, resolveKind, splitKindName } from '../resource.js';
import type { Booking } from '../../../../crds/api/types.js';
import { InvalidError } from '../../../../crds/api/errors.js';
import { requireMayWrite } from '../bookings.js';
import { holdersOf } from '../kill/index.js';
import { shortTime } from '../../printers/format.js';
import { RefusedError } from '../../errors.js';
import { loadObjects, readSources } from '../input.js';
import { nameOf } from '../../printers/index.js';

interface DeleteFlags {
  filename?: string[];
  namespace?: string;
  ignoreNotFound?: boolean;
  force?: boolean;
}

/** Pure: the warning for deleting nodes that Active bookings hold, or undefined. */
export function heldNodesWarning(refs: ObjectRef[], bookings: Booking[], now: Date): string | undefined {
  const parts: string[] = [];
  for (const r of refs) {
    if (r.kind !== 'Node') continue;
    // a booking deleted by the same command ends anyway
    const hs = holdersOf(bookings, r.name).filter((b) => !refs.some((x) => x.kind === 'Booking' && x.namespace === b.metadata.namespace && x.name === b.metadata.name));
    if (hs.length) parts.push(`node ${r.name} is held by ${hs.map((b) => `${b.metadata.namespace}/${b.metadata.name} (${b.spec.user}, until ${b.status?.endTime ? shortTime(b.status.endTime, now) : '?'})`).join(', ')}`);
  }
  return parts.length ? `${parts.join('; ')}: deleting ${parts.length > 1 ? 'these nodes' : 'it'} ends ${parts.length > 1 ? 'those bookings' : 'that booking'} now (reason NodeLost)` : undefined;
}

/** Asks a yes/no question on the terminal; false unless the answer starts with y. */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export class DeleteOptions implements Options {
  kind?: KindInfo;
  names: string[] = [];
  files: string[] = [];
  namespace?: string;
  ignoreNotFound = false;
  force = false;
  private flagNamespace?: string;

  complete(args: string[], flags: DeleteFlags): void {
    this.files = flags.filename ?? [];
    this.ignoreNotFound = Boolean(flags.ignoreNotFound);
    this.force = Boolean(flags.force);
    this.flagNamespace = flags.namespace;
    if (args.length) {
      const first = splitKindName(args[0]);
      this.kind = resolveKind(first.kind ?? args[0]);
      this.names = first.kind ? [first.name, ...args.slice(1)] : args.slice(1);
      this.namespace = namespaceFor(this.kind, flags);
    }
  }

  validate(): void {
    if (this.files.length && this.kind) throw usage('give KIND NAME... or -f FILE, not both');
    if (!this.files.length && !this.kind) throw usage('delete needs KIND NAME... or -f FILE');
    if (this.kind && !this.names.length) throw usage(`delete needs a NAME: kiwictl delete ${this.kind.singular} NAME`);
  }

  async run(ctx: Ctx): Promise<void> {
    const refs: ObjectRef[] = this.files.length
      ? (await loadObjects(readSources(this.files))).map(refOf)
      : this.names.map((n) => refForArg(this.kind!, n, this.namespace, this.flagNamespace));
    const reader = await ctx.client.reader();
    await requireMayWrite(reader, refs, 'delete');
    if (refs.some((r) => r.kind === 'Node') && !this.force) {
      const warning = heldNodesWarning(refs, await reader.list('Booking'), new Date());
      if (warning) {
        if (!process.stdin.isTTY) throw new InvalidError(`${warning}; nothing was deleted: add --force to delete anyway (or drain first: kiwictl drain NODE)`);
        ctx.err(`warning: ${warning}\n`);
        if (!(await confirm('Delete anyway? [y/N] '))) throw new RefusedError('nothing was deleted');
      }
    }
    const store = await ctx.client.writer();
    const missing: string[] = [];
    for (const ref of refs) {
      try {
        await store.delete(ref);
        ctx.out(`${nameOf(kindInfo(ref.kind), ref.name)} deleted\n`);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        if (!this.ignoreNotFound) missing.push(e.message);
      }
    }
    if (missing.length) throw new NotFoundError(missing.join('; '));
  }
}

export function registerDelete(program: Command): Command {
  return program
    .command('delete')
    .description('Delete objects by kind and name, or those named in files')
    .argument('[kind]', 'kind, or KIND/NAME')
    .argument('[names...]', 'names of the objects')
    .option('-f, --filename <file>', 'delete the objects in a file, directory or - (repeatable)', collect)
    .option('-n, --namespace <namespace>', 'namespace of bookings (default: your user name)')
    .option('--ignore-not-found', 'treat a missing object as deleted')
    .option('--force', 'delete nodes even when Active bookings hold them (they end, reason NodeLost) without asking')
    .addHelpText('after', examples('kiwictl delete booking bk-1', 'kiwictl delete booking alice/bk-1', 'kiwictl delete node n01 n02', '# A node that is booked: asks on a terminal, else needs --force', 'kiwictl delete node n03 --force', 'kiwictl delete -f booking.yaml'))
    .action(verbAction(() => new DeleteOptions()));
}

// kiwictl delete KIND NAME... | -f FILE: delete objects (spec and status together). Deleting a
// booking ends it; `kiwictl kill` cancels it and keeps it for the record instead.
import type { Command } from 'commander';
import type { KindInfo } from '../../../../crds/api/kinds.js';
import { kindInfo } from '../../../../crds/api/kinds.js';
import { NotFoundError } from '../../../../crds/api/errors.js';
import type { ObjectRef } from '../../../../crds/api/keys.js';
import { collect, examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { namespaceFor, refFor, refOf, resolveKind, splitKindName } from '../resource.js';
import { loadObjects, readSources } from '../input.js';
import { nameOf } from '../../printers/index.js';

interface DeleteFlags {
  filename?: string[];
  namespace?: string;
  ignoreNotFound?: boolean;
}

export class DeleteOptions implements Options {
  kind?: KindInfo;
  names: string[] = [];
  files: string[] = [];
  namespace?: string;
  ignoreNotFound = false;

  complete(args: string[], flags: DeleteFlags): void {
    this.files = flags.filename ?? [];
    this.ignoreNotFound = Boolean(flags.ignoreNotFound);
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
      : this.names.map((n) => refFor(this.kind!, n, this.namespace));
    const store = await ctx.client.store();
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
    .addHelpText('after', examples('kiwictl delete booking bk-1', 'kiwictl delete node n01 n02', 'kiwictl delete -f booking.yaml'))
    .action(verbAction(() => new DeleteOptions()));
}

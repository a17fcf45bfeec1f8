// kiwictl apply -f FILE|DIR|-: create or update objects from files. Every document is validated
// before anything is written; one invalid document means nothing is written at all, and the
// writes go in one transaction, so a conflict or an outage half-way leaves nothing half-applied.
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import type { Booking, KiwiObject } from '../../../../crds/api/types.js';
import { kindInfo } from '../../../../crds/api/kinds.js';
import { InvalidError } from '../../../../crds/api/errors.js';
import { immutableChanges } from '../../../../crds/api/immutable.js';
import { refOf } from '../resource.js';
import { collect, examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { loadObjects, readSources, type Source } from '../input.js';
import { nameOf } from '../../printers/index.js';

export class ApplyOptions implements Options {
  files: string[] = [];
  dryRun = false;
  namespace?: string;
  sources: Source[] = [];

  complete(_args: string[], flags: { filename?: string[]; dryRun?: boolean; namespace?: string }): void {
    this.files = flags.filename ?? [];
    this.dryRun = Boolean(flags.dryRun);
    this.namespace = flags.namespace;
  }

  validate(): void {
    if (this.files.length === 0) throw usage('apply needs at least one -f FILE, DIR or - (stdin)');
    this.sources = readSources(this.files);
  }

  async run(ctx: Ctx): Promise<void> {
    const objects = await loadObjects(this.sources, this.namespace);
    const store = await ctx.client.store();
    // A begun booking's admitted fields are immutable (the operator refuses them too, if written raw).
    const fixed: string[] = [];
    for (const o of objects.filter((x): x is Booking => x.kind === 'Booking')) {
      const cur = await store.get({ ...refOf(o), kind: 'Booking' });
      if (cur) fixed.push(...immutableChanges(cur, o, Date.now()).map((p) => `${nameOf(kindInfo(o.kind), o.metadata.name!)}: ${p}`));
    }
    if (fixed.length) throw new InvalidError(`nothing was applied:\n${fixed.join('\n')}`, fixed);
    if (this.dryRun) {
      for (const obj of objects) {
        const action = wouldDo(obj, await store.getStored(refOf(obj)).then((s) => s?.object));
        ctx.out(`${nameOf(kindInfo(obj.kind), obj.metadata.name!)} ${action} (dry run)\n`);
      }
      return;
    }
    // All or nothing: one transaction for the whole batch (see Store.applyAll).
    const results = await store.applyAll(objects);
    results.forEach(({ action }, i) => ctx.out(`${nameOf(kindInfo(objects[i].kind), objects[i].metadata.name!)} ${action}\n`));
  }
}

/** What apply would do, comparing the parts apply owns: spec, labels, annotations. */
function wouldDo(obj: KiwiObject, current: KiwiObject | undefined): 'created' | 'configured' | 'unchanged' {
  if (!current) return 'created';
  const owned = (o: any) => ({ spec: o.spec, labels: nonEmpty(o.metadata.labels), annotations: nonEmpty(o.metadata.annotations) });
  return isDeepStrictEqual(owned(obj), owned(current)) ? 'unchanged' : 'configured';
}
const nonEmpty = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? m : undefined);

export function registerApply(program: Command): Command {
  return program
    .command('apply')
    .description('Create or update objects from YAML or JSON files (all documents are validated first; nothing is written if one is invalid)')
    .option('-f, --filename <file>', 'a file, a directory of .yaml/.yml/.json files, or - for stdin (repeatable)', collect)
    .option('--dry-run', 'validate and print what would happen, write nothing')
    .option('-n, --namespace <namespace>', 'namespace for bookings that name none (default: your user name)')
    .addHelpText(
      'after',
      examples(
        '# Book two nodes for an hour (namespace and spec.user default to your user name)',
        'kiwictl apply -f booking.yaml',
        '# Apply every file of a directory, and a document from stdin',
        'kiwictl apply -f manifests/ -f - < extra.yaml',
        '# Check a file without writing anything',
        'kiwictl apply -f booking.yaml --dry-run',
      ),
    )
    .action(verbAction(() => new ApplyOptions()));
}

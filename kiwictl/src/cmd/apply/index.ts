// kiwictl apply -f FILE|DIR|-: create or update objects from files. Every document is validated
// before anything is written; one invalid document means nothing is written at all, and the
// writes go in one transaction, so a conflict or an outage half-way leaves nothing half-applied.
// A ClusterConfig keeps the fields a file leaves out, and an apply that would drop admins or
// bypass users is refused without --force (apply/plan.ts). --dry-run=client checks and says what
// would change; --dry-run=server also asks the leading operator what it would decide for each
// booking (when it would start and after whom, or why not), writing nothing.
import type { Command } from 'commander';
import type { Booking, KiwiObject } from '../../../../crds/api/types.js';
import { kindInfo } from '../../../../crds/api/kinds.js';
import { InvalidError } from '../../../../crds/api/errors.js';
import { immutableChanges } from '../../../../crds/api/immutable.js';
import { refOf } from '../resource.js';
import { collect, examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { loadObjects, readSources, type Source } from '../input.js';
import { nameOf } from '../../printers/index.js';
import { requireMayWrite } from '../bookings.js';
import { getMany } from '../../client/reader.js';
import { RefusedError } from '../../errors.js';
import { dryRunReport } from '../alloc/report.js';
import { prepareApply, wouldDo } from './plan.js';

export type DryRun = 'none' | 'client' | 'server';

/** kubectl's --dry-run: bare means client; none, client or server. */
export function parseDryRun(v: string | boolean | undefined): DryRun {
  if (v === undefined || v === false) return 'none';
  if (v === true) return 'client';
  if (v === 'none' || v === 'client' || v === 'server') return v;
  throw usage(`--dry-run=${v}: give client (check and show, nothing sent to the operator), server (also ask the operator what it would decide) or none`);
}

export class ApplyOptions implements Options {
  files: string[] = [];
  dryRun: DryRun = 'none';
  namespace?: string;
  force = false;
  sources: Source[] = [];

  complete(_args: string[], flags: { filename?: string[]; dryRun?: string | boolean; namespace?: string; force?: boolean }): void {
    this.files = flags.filename ?? [];
    this.dryRun = parseDryRun(flags.dryRun);
    this.namespace = flags.namespace;
    this.force = Boolean(flags.force);
  }

  validate(): void {
    if (this.files.length === 0) throw usage('apply needs at least one -f FILE, DIR or - (stdin)');
    this.sources = readSources(this.files);
  }

  async run(ctx: Ctx): Promise<void> {
    const { objects, current } = await loadForApply(ctx, this.sources, this.namespace, 'apply', this.force);
    // A begun booking's admitted fields are immutable (the operator refuses them too, if written raw).
    const fixed = objects.flatMap((o, i) =>
      o.kind === 'Booking' && current[i] ? immutableChanges(current[i] as Booking, o as Booking, Date.now()).map((p) => `${nameOf(kindInfo(o.kind), o.metadata.name!)}: ${p}`) : [],
    );
    if (fixed.length) throw new InvalidError(`nothing was applied:\n${fixed.join('\n')}`, fixed);
    if (this.dryRun !== 'none') return this.runDry(ctx, objects, current);
    // All or nothing: one transaction for the whole batch (see Store.applyAll).
    const store = await ctx.client.writer();
    const results = await store.applyAll(objects);
    ctx.out(results.map(({ action }, i) => `${nameOf(kindInfo(objects[i].kind), objects[i].metadata.name!)} ${action}\n`).join(''));
  }

  private async runDry(ctx: Ctx, objects: KiwiObject[], current: (KiwiObject | undefined)[]): Promise<void> {
    const lines = objects.map((obj, i) => `${nameOf(kindInfo(obj.kind), obj.metadata.name!)} ${wouldDo(obj, current[i])} (${this.dryRun === 'client' ? 'dry run' : 'server dry run'})\n`);
    if (this.dryRun === 'client') return ctx.out(lines.join(''));
    const { askDryRun } = await import('../../../../crds/api/dryrun.js');
    const store = await ctx.client.store();
    const refusals: string[] = [];
    const now = () => new Date();
    for (const [i, obj] of objects.entries()) {
      ctx.out(lines[i]);
      if (obj.kind !== 'Booking') continue;
      const a = await askDryRun(store, obj as Booking);
      if (a.error) {
        refusals.push(`booking ${obj.metadata.namespace}/${obj.metadata.name}: the operator refused the request: ${a.error}`);
        continue;
      }
      const r = dryRunReport({ ...(obj as Booking), status: a.status }, now());
      if (r.text) ctx.out('  ' + r.text);
      if (r.refused) refusals.push(r.refused);
    }
    if (refusals.length) throw new RefusedError(refusals.join('; '));
  }
}

/**
 * Apply's and diff's first steps: loads and validates the documents, checks who may write, reads
 * what is stored (in batches) and prepares the documents as apply would write them
 * (prepareApply), refusing, with nothing written, what it refuses.
 */
export async function loadForApply(ctx: Ctx, sources: Source[], namespace: string | undefined, verb: string, force: boolean): Promise<{ objects: KiwiObject[]; current: (KiwiObject | undefined)[] }> {
  const objects = await loadObjects(sources, namespace);
  const seen = new Set<string>();
  for (const o of objects) {
    const r = refOf(o);
    const k = `${r.kind}/${r.namespace ?? ''}/${r.name}`;
    if (seen.has(k)) throw new InvalidError(`${o.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} is given twice in one ${verb}; nothing was written`);
    seen.add(k);
  }
  const reader = await ctx.client.reader();
  await requireMayWrite(reader, objects.map(refOf), verb);
  const current = (await getMany(reader, objects.map(refOf))) as (KiwiObject | undefined)[];
  const prepared = prepareApply(objects, current, { force });
  if (prepared.problems.length) throw new InvalidError(`${prepared.problems.join('; ')}; nothing was written`, [...prepared.problems, 'nothing was written']);
  return { objects: prepared.objects, current };
}

/** The flags apply and diff share: what to read, and apply's --force. */
export function applyInputFlags(c: Command, force: string): Command {
  return c
    .option('-f, --filename <file>', 'a file, a directory of .yaml/.yml/.json files, or - for stdin (repeatable)', collect)
    .option('-n, --namespace <namespace>', 'namespace for bookings that name none (default: your user name)')
    .option('--force', force);
}

export function registerApply(program: Command): Command {
  return applyInputFlags(program.command('apply').description('Create or update objects from YAML or JSON files (all documents are validated first; nothing is written if one is invalid)'), 'let a ClusterConfig apply take users off admins or sshBypassUsers')
    .option('--dry-run [strategy]', 'write nothing: client (check, and say what would change) or server (also ask the operator when each booking would start, or why not)')
    .addHelpText(
      'after',
      examples(
        '# Book two nodes for an hour (namespace and spec.user default to your user name)',
        'kiwictl apply -f booking.yaml',
        '# Apply every file of a directory, and a document from stdin',
        'kiwictl apply -f manifests/ -f - < extra.yaml',
        '# Check a file without writing anything; and ask the operator when it would start',
        'kiwictl apply -f booking.yaml --dry-run=client',
        'kiwictl apply -f booking.yaml --dry-run=server',
        '# What would change',
        'kiwictl diff -f booking.yaml',
      ),
    )
    .action(verbAction(() => new ApplyOptions()));
}

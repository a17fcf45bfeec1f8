// kiwictl label | annotate KIND NAME KEY=VALUE... KEY-...: change an object's labels or
// annotations with kubectl's syntax: KEY=VALUE sets (an existing different value needs
// --overwrite), KEY- removes. A compare-and-swap on the object (updateSpec), after the same
// client-side checks as apply and delete.
import type { Command } from 'commander';
import type { KindInfo } from '../../../../crds/api/kinds.js';
import { isLabelKey, isLabelValue } from '../../../../crds/api/selector.js';
import { InvalidError, NotFoundError } from '../../../../crds/api/errors.js';
import type { KindName } from '../../../../crds/api/types.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { namespaceFor, refForArg, resolveKind, splitKindName, qualifiedName } from '../resource.js';
import { requireMayWrite, updateSpec } from '../bookings.js';

export type MetaField = 'labels' | 'annotations';

export interface MetaChanges {
  set: Record<string, string>;
  remove: string[];
}

/** Pure: KEY=VALUE and KEY- arguments. */
export function parseMetaChanges(args: string[], field: MetaField): MetaChanges {
  const out: MetaChanges = { set: {}, remove: [] };
  for (const a of args) {
    if (a.endsWith('-') && !a.includes('=')) {
      const k = a.slice(0, -1);
      if (!isLabelKey(k)) throw usage(`${a}: "${k}" is not a valid ${field === 'labels' ? 'label' : 'annotation'} key`);
      out.remove.push(k);
      continue;
    }
    const i = a.indexOf('=');
    if (i <= 0) throw usage(`${a}: give KEY=VALUE to set, or KEY- to remove`);
    const k = a.slice(0, i);
    const v = a.slice(i + 1);
    if (!isLabelKey(k)) throw usage(`${a}: "${k}" is not a valid ${field === 'labels' ? 'label' : 'annotation'} key`);
    if (field === 'labels' && !isLabelValue(v)) throw usage(`${a}: "${v}" is not a valid label value (63 characters at most: letters, digits, -, _, .)`);
    if (k in out.set || out.remove.includes(k)) throw usage(`${k}: given twice`);
    out.set[k] = v;
  }
  for (const k of out.remove) if (k in out.set) throw usage(`${k}: both set and removed`);
  return out;
}

/** Pure: the new map, or the refusal kubectl gives without --overwrite. */
export function applyMetaChanges(cur: Record<string, string> | undefined, c: MetaChanges, overwrite: boolean, field: MetaField): { next: Record<string, string>; missing: string[] } {
  const next = { ...(cur ?? {}) };
  for (const [k, v] of Object.entries(c.set)) {
    if (k in next && next[k] !== v && !overwrite) throw new InvalidError(`'${k}' already has a value (${next[k]}), and --overwrite is false`);
    next[k] = v;
  }
  const missing: string[] = [];
  for (const k of c.remove) {
    if (k in next) delete next[k];
    else missing.push(`${field === 'labels' ? 'label' : 'annotation'} "${k}" not found.`);
  }
  return { next, missing };
}

export class MetaOptions implements Options {
  kind!: KindInfo;
  names: string[] = [];
  changes!: MetaChanges;
  overwrite = false;
  namespace?: string;
  private flagNamespace?: string;
  constructor(readonly field: MetaField) {}

  complete(args: string[], flags: { overwrite?: boolean; namespace?: string }): void {
    const first = splitKindName(args[0] ?? '');
    this.kind = resolveKind(first.kind ?? args[0]);
    const rest = first.kind ? [first.name, ...args.slice(1)] : args.slice(1);
    this.names = rest.filter((a) => !a.includes('=') && !a.endsWith('-'));
    this.changes = parseMetaChanges(rest.filter((a) => a.includes('=') || a.endsWith('-')), this.field);
    this.overwrite = Boolean(flags.overwrite);
    this.flagNamespace = flags.namespace;
    this.namespace = namespaceFor(this.kind, flags);
  }

  validate(): void {
    const verb = this.field === 'labels' ? 'label' : 'annotate';
    if (!this.names.length) throw usage(`${verb} needs a NAME: kiwictl ${verb} ${this.kind.singular} NAME KEY=VALUE`);
    if (!Object.keys(this.changes.set).length && !this.changes.remove.length) throw usage(`${verb}: give at least one KEY=VALUE or KEY-`);
  }

  async run(ctx: Ctx): Promise<void> {
    const verb = this.field === 'labels' ? 'label' : 'annotate';
    const refs = this.names.map((n) => refForArg(this.kind, n, this.namespace, this.flagNamespace));
    await requireMayWrite(await ctx.client.reader(), refs, verb);
    for (const ref of refs) {
      let notes: string[] = [];
      const r = await updateSpec(ctx, ref as typeof ref & { kind: KindName }, (o) => {
        const { next, missing } = applyMetaChanges(o.metadata[this.field], this.changes, this.overwrite, this.field);
        notes = missing;
        if (JSON.stringify(next) === JSON.stringify(o.metadata[this.field] ?? {})) return false;
        if (Object.keys(next).length) o.metadata[this.field] = next;
        else delete o.metadata[this.field];
        return true;
      }).catch((e) => {
        if (e instanceof NotFoundError) throw new NotFoundError(`${this.kind.plural} "${ref.namespace && this.kind.namespaced ? `${ref.namespace}/` : ''}${ref.name}" not found`);
        throw e;
      });
      for (const n of notes) ctx.out(n + '\n');
      const word = this.field === 'labels' ? 'labeled' : 'annotated';
      ctx.out(`${qualifiedName(this.kind, ref.name)} ${r.changed ? word : `not ${word}`}\n`);
    }
  }
}

function register(program: Command, field: MetaField): Command {
  const verb = field === 'labels' ? 'label' : 'annotate';
  const ex =
    field === 'labels'
      ? examples('kiwictl label node n01 gpu=a100', '# Change a value, remove a label', 'kiwictl label node n01 gpu=h100 --overwrite', 'kiwictl label node n01 gpu-')
      : examples('kiwictl annotate booking bk-1 note="thesis run"', 'kiwictl annotate node n01 note-');
  return program
    .command(verb)
    .description(`Set or remove ${field} of objects (KEY=VALUE sets, KEY- removes), kubectl's syntax`)
    .argument('<kind>', 'kind, or KIND/NAME')
    .argument('[args...]', `NAME... then KEY=VALUE and KEY-`)
    .option('--overwrite', 'replace a value that is already there')
    .option('-n, --namespace <namespace>', 'namespace of bookings (default: your user name)')
    .addHelpText('after', ex)
    .action(verbAction(() => new MetaOptions(field)));
}

export const registerLabel = (p: Command) => register(p, 'labels');
export const registerAnnotate = (p: Command) => register(p, 'annotations');

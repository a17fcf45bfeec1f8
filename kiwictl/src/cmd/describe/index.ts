// kiwictl describe KIND NAME...: one object in full, for humans, with its recorded events.
import type { Command } from 'commander';
import type { KindInfo } from '../../../../crds/api/kinds.js';
import { NotFoundError } from '../../../../crds/api/errors.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { namespaceFor, refForArg, resolveKind, skippedKeys, splitKindName } from '../resource.js';
import type { Pool } from '../../../../crds/api/types.js';
import { refString } from '../../../../crds/api/keys.js';
import { readLeader, stalenessHint } from '../../client/staleness.js';
import { describeObject } from '../../printers/describe.js';

export class DescribeOptions implements Options {
  kind!: KindInfo;
  names: string[] = [];
  namespace?: string;
  private flagNamespace?: string;

  complete(args: string[], flags: { namespace?: string }): void {
    this.flagNamespace = flags.namespace;
    const first = splitKindName(args[0] ?? '');
    this.kind = resolveKind(first.kind ?? args[0]);
    this.names = first.kind ? [first.name, ...args.slice(1)] : args.slice(1);
    this.namespace = namespaceFor(this.kind, flags);
  }

  validate(): void {
    if (this.names.length === 0) throw usage(`describe needs a NAME: kiwictl describe ${this.kind.singular} NAME`);
  }

  async run(ctx: Ctx): Promise<void> {
    const reader = await ctx.client.reader();
    const parts: string[] = [];
    const leader = readLeader(reader).catch(() => undefined);
    // Usage records live under their own prefix (get/usage.ts) and have no events.
    const records = this.kind.kind === 'UsageRecord' ? await (await import('../get/usage.js')).listUsageRecords(reader, { namespace: this.namespace, names: this.names }) : undefined;
    for (const name of this.names) {
      const ref = refForArg(this.kind, name, this.namespace, this.flagNamespace);
      if (records) {
        const r = records.find((x) => x.metadata.name === name);
        if (!r) throw new NotFoundError(`${this.kind.kind} "${name}" not found${this.namespace ? ` in namespace ${this.namespace}` : ''}`);
        parts.push(describeObject(r, []));
        continue;
      }
      const obj = await reader.get(ref);
      if (!obj) throw new NotFoundError(`${this.kind.kind} "${ref.namespace && name.includes('/') ? refString(ref) : name}" not found${ref.namespace && !name.includes('/') ? ` in namespace ${ref.namespace}` : ''}`);
      const events = (await reader.listEvents(ref)).sort((a, b) => a.time.localeCompare(b.time));
      parts.push(describeObject(obj, events, new Date(), obj.kind === 'Pool' ? await this.poolPart(reader, obj) : ''));
    }
    ctx.out(parts.join('\n\n'));
    const rec = await leader;
    const h = rec && stalenessHint(rec, Date.now());
    if (h) ctx.err(h + '\n');
  }

  /** A pool's nodes, limits and who holds what against them now. */
  private async poolPart(reader: Awaited<ReturnType<Ctx['client']['reader']>>, p: Pool): Promise<string> {
    const skipped = skippedKeys(() => undefined);
    const [pools, nodes, bookings] = await Promise.all([reader.list('Pool', skipped), reader.list('Node', skipped), reader.list('Booking', skipped)]);
    const { poolSummary } = await import('./pool.js');
    return poolSummary(p, pools, nodes, bookings, Date.now());
  }
}

export function registerDescribe(program: Command): Command {
  return program
    .command('describe')
    .description('Show one object in full: metadata, spec, status, conditions and events (oldest first)')
    .argument('<kind>', 'kind, or KIND/NAME')
    .argument('[names...]', 'names of the objects')
    .option('-n, --namespace <namespace>', 'namespace of bookings (default: your user name)')
    .addHelpText('after', examples('kiwictl describe booking bk-1', 'kiwictl describe node n01', 'kiwictl describe bk/bk-2 -n alice', 'kiwictl describe booking alice/bk-2'))
    .action(verbAction(() => new DescribeOptions()));
}

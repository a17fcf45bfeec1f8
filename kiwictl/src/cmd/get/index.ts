// kiwictl get KIND [NAME...]: list or show objects, as a table (-o wide adds columns) or as
// yaml, json or names; -w keeps a live view open (one line per change) until Ctrl-C.
import type { Command } from 'commander';
import type { KindInfo } from '../../../../crds/api/kinds.js';
import { NotFoundError } from '../../../../crds/api/errors.js';
import { matches, parseSelector, type Requirement } from '../../../../crds/api/selector.js';
import type { InformerEvent } from '../../../../crds/api/informer.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { namespaceFor, refFor, resolveKind, splitKindName } from '../resource.js';
import { parseOutput, printObjects, WatchPrinter, type OutputFormat } from '../../printers/index.js';

interface GetFlags {
  output?: string;
  selector?: string;
  namespace?: string;
  allNamespaces?: boolean;
  watch?: boolean;
}

export class GetOptions implements Options {
  kind!: KindInfo;
  names: string[] = [];
  format: OutputFormat = 'table';
  selector: Requirement[] = [];
  namespace?: string;
  allNamespaces = false;
  watch = false;
  private flags: GetFlags = {};

  complete(args: string[], flags: GetFlags): void {
    this.flags = flags;
    const first = splitKindName(args[0] ?? '');
    this.kind = resolveKind(first.kind ?? args[0]);
    this.names = first.kind ? [first.name, ...args.slice(1)] : args.slice(1);
    this.format = parseOutput(flags.output);
    this.selector = flags.selector ? parseSelector(flags.selector) : [];
    this.allNamespaces = Boolean(flags.allNamespaces) && this.kind.namespaced;
    this.namespace = namespaceFor(this.kind, flags);
    this.watch = Boolean(flags.watch);
  }

  validate(): void {
    if (this.flags.allNamespaces && this.flags.namespace) throw usage('give -n NAMESPACE or -A (all namespaces), not both');
    if (this.allNamespaces && this.names.length) throw usage('a name cannot be looked up across all namespaces: give -n NAMESPACE instead of -A');
    if (this.selector.length && this.names.length) throw usage('give names or a label selector (-l), not both');
    if (this.watch && this.kind.kind === 'UsageRecord') throw usage('usage records never change once written: -w does not apply to them; run without -w');
  }

  async run(ctx: Ctx): Promise<void> {
    if (this.watch) return this.runWatch(ctx);
    const reader = await ctx.client.reader();
    const print = (objects: unknown[], single = false) =>
      printObjects(objects, { format: this.format, kind: this.kind, allNamespaces: this.allNamespaces, single });
    if (this.kind.kind === 'UsageRecord') {
      const { listUsageRecords } = await import('./usage.js');
      const items = await listUsageRecords(reader, { namespace: this.namespace, selector: this.selector, names: this.names });
      const missing = this.names.filter((n) => !items.some((r) => r.metadata.name === n));
      if (items.length || this.format === 'json' || this.format === 'yaml') ctx.out(await print(items, this.names.length === 1));
      else if (!missing.length) ctx.err(`No ${this.kind.plural} found${this.where()}.\n`);
      if (missing.length) throw new NotFoundError(`${this.kind.plural} ${missing.map((m) => `"${m}"`).join(', ')} not found${this.where()}`);
      return;
    }
    if (this.names.length) {
      const found = [];
      const missing = [];
      for (const name of this.names) {
        const obj = await reader.get(refFor(this.kind, name, this.namespace));
        if (obj) found.push(obj);
        else missing.push(name);
      }
      if (found.length) ctx.out(await print(found, this.names.length === 1));
      if (missing.length) throw new NotFoundError(`${this.kind.plural} ${missing.map((m) => `"${m}"`).join(', ')} not found${this.where()}`);
      return;
    }
    const items = await reader.list(this.kind.kind, { namespace: this.namespace, selector: this.selector });
    if (items.length === 0 && this.format !== 'json' && this.format !== 'yaml') {
      ctx.err(`No ${this.kind.plural} found${this.where()}.\n`);
      return;
    }
    ctx.out(await print(items));
  }

  private where(): string {
    return this.namespace ? ` in namespace ${this.namespace}` : '';
  }

  /** The live view: list, then a line per change, until the signal (Ctrl-C) aborts it. */
  private async runWatch(ctx: Ctx): Promise<void> {
    const signal = ctx.handleInterrupts();
    const store = await ctx.client.store();
    const { Informer } = await import('../../../../crds/api/informer.js');
    const printer = new WatchPrinter({ format: this.format, kind: this.kind, allNamespaces: this.allNamespaces });
    const wanted = (o: any) => (this.names.length ? this.names.includes(o.metadata.name) : matches(this.selector, o.metadata.labels));
    let synced = false;
    // Writes stay in order even though yaml printing is async.
    let chain = Promise.resolve();
    const emit = (make: () => Promise<string>) => (chain = chain.then(async () => ctx.out(await make())));
    const informer = new Informer(store, this.kind.kind, {
      namespace: this.namespace,
      onSync: (items) => {
        if (synced) return;
        synced = true;
        const shown = items.filter(wanted);
        if (shown.length === 0) ctx.err(`No ${this.kind.plural} found${this.where()} yet; watching for changes (Ctrl-C to stop).\n`);
        emit(() => printer.initial(shown));
      },
      onEvent: (ev: InformerEvent<any>) => {
        if (!synced || !wanted(ev.object)) return;
        emit(() => printer.change(ev.object, ev.type === 'DELETED'));
      },
      onError: (err) => ctx.err(`warning: watch interrupted (${err.message.split('\n')[0]}); resuming\n`),
    });
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      await Promise.race([informer.start(), aborted]);
      await aborted;
    } finally {
      await informer.stop();
      await chain;
    }
  }
}

export function registerGet(program: Command): Command {
  return program
    .command('get')
    .description('Show objects of a kind: bookings (bk), nodes (no), clusterconfigs (cc), usagerecords (ur)')
    .argument('<kind>', 'kind to show, or KIND/NAME')
    .argument('[names...]', 'names of the objects (default: all)')
    .option('-o, --output <format>', 'table, wide, yaml, json or name', 'table')
    .option('-l, --selector <selector>', 'label selector: a=b, a!=b, a in (x,y), a, !a')
    .option('-n, --namespace <namespace>', 'namespace of bookings (default: your user name)')
    .option('-A, --all-namespaces', 'bookings of all users')
    .option('-w, --watch', 'print the list, then a line per change, until Ctrl-C')
    .addHelpText(
      'after',
      examples(
        '# Your bookings, and everybody\'s',
        'kiwictl get bookings',
        'kiwictl get bk -A',
        '# Nodes with a GPU label, with extra columns',
        'kiwictl get nodes -l gpu=a100 -o wide',
        '# One booking as YAML',
        'kiwictl get booking bk-1 -o yaml',
        '# Watch the nodes change until Ctrl-C',
        'kiwictl get nodes -w',
      ),
    )
    .action(verbAction(() => new GetOptions()));
}

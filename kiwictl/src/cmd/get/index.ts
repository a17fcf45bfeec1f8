// kiwictl get KIND [NAME...]: list or show objects, as a table (-o wide adds columns) or as
// yaml, json or names; -w keeps a live view open (one line per change) until Ctrl-C.
import type { Command } from 'commander';
import type { KindInfo } from '../../../../crds/api/kinds.js';
import { NotFoundError } from '../../../../crds/api/errors.js';
import { matches, parseSelector, type Requirement } from '../../../../crds/api/selector.js';
import type { InformerEvent } from '../../../../crds/api/informer.js';
import type { Account, Node } from '../../../../crds/api/types.js';
import { refString } from '../../../../crds/api/keys.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { namespaceFor, refForArg, resolveKind, skippedKeys, splitKindName } from '../resource.js';
import { parseOutput, printObjects, WatchPrinter, type OutputSpec, type PrintOptions } from '../../printers/index.js';
import type { TableContext } from '../../printers/columns.js';
import { sortBy } from '../../printers/custom-columns.js';
import { matchesFields, parseFieldSelector, type FieldRequirement } from '../field-selector.js';
import { nodeHolders } from '../info/rows.js';
import type { Reader } from '../../client/reader.js';
import { readLeader, stalenessHint } from '../../client/staleness.js';

interface GetFlags {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  sortBy?: string;
  namespace?: string;
  allNamespaces?: boolean;
  watch?: boolean;
}

export class GetOptions implements Options {
  kind!: KindInfo;
  names: string[] = [];
  output: OutputSpec = { format: 'table' };
  selector: Requirement[] = [];
  fields: FieldRequirement[] = [];
  sortBy?: string;
  namespace?: string;
  allNamespaces = false;
  watch = false;
  private flags: GetFlags = {};

  complete(args: string[], flags: GetFlags): void {
    this.flags = flags;
    const first = splitKindName(args[0] ?? '');
    // KIND/NAME, or KIND/NAMESPACE/NAME
    this.kind = resolveKind(first.kind ?? args[0]);
    this.names = first.kind ? [first.name, ...args.slice(1)] : args.slice(1);
    this.output = parseOutput(flags.output);
    this.selector = flags.selector ? parseSelector(flags.selector) : [];
    this.fields = flags.fieldSelector ? parseFieldSelector(flags.fieldSelector, this.kind) : [];
    this.sortBy = flags.sortBy;
    if (this.sortBy) sortBy([], this.sortBy); // a bad path is refused before anything is read
    this.allNamespaces = Boolean(flags.allNamespaces) && this.kind.namespaced;
    this.namespace = namespaceFor(this.kind, flags);
    this.watch = Boolean(flags.watch);
  }

  validate(): void {
    if (this.flags.allNamespaces && this.flags.namespace) throw usage('give -n NAMESPACE or -A (all namespaces), not both');
    if (this.allNamespaces && this.names.length) throw usage('a name cannot be looked up across all namespaces: give NAMESPACE/NAME or -n NAMESPACE instead of -A');
    if ((this.selector.length || this.fields.length) && this.names.length) throw usage('give names or a selector (-l, --field-selector), not both');
    if (this.watch && this.kind.kind === 'UsageRecord') throw usage('usage records never change once written: -w does not apply to them; run without -w');
  }

  private printOptions(single = false): PrintOptions {
    return { format: this.output.format, jsonpath: this.output.jsonpath, columns: this.output.columns, kind: this.kind, allNamespaces: this.allNamespaces, single };
  }

  async run(ctx: Ctx): Promise<void> {
    if (this.watch) return this.runWatch(ctx);
    const reader = await ctx.client.reader();
    // Read alongside, not after: whether an operator leads (the staleness hint).
    const leader = readLeader(reader).catch(() => undefined);
    const print = async (objects: unknown[], single = false) => {
      const o = this.printOptions(single);
      if (this.kind.kind === 'Node' && (o.format === 'table' || o.format === 'wide')) o.table = await this.nodeContext(reader, objects as Node[]);
      if (this.kind.kind === 'Account' && (o.format === 'table' || o.format === 'wide')) {
        // The balance now: the ledger rolled to the current period, with the allocation in force (yaml and json show it as stored).
        const { withCurrentLedger } = await import('../usage/report.js');
        objects = (objects as Account[]).map((a) => withCurrentLedger(a, Date.now()));
      }
      return printObjects(this.sortBy ? sortBy(objects, this.sortBy) : objects, o);
    };
    const hint = async () => {
      const rec = await leader;
      const h = rec && stalenessHint(rec, Date.now());
      if (h) ctx.err(h + '\n');
    };
    if (this.kind.kind === 'UsageRecord') {
      const { listUsageRecords } = await import('./usage.js');
      const items = await listUsageRecords(reader, { namespace: this.namespace, selector: this.selector, names: this.names });
      const missing = this.names.filter((n) => !items.some((r) => r.metadata.name === n));
      if (items.length || this.output.format === 'json' || this.output.format === 'yaml') ctx.out(await print(items, this.names.length === 1));
      else if (!missing.length) ctx.err(`No ${this.kind.plural} found${this.where()}.\n`);
      if (missing.length) throw new NotFoundError(`${this.kind.plural} ${missing.map((m) => `"${m}"`).join(', ')} not found${this.where()}`);
      return;
    }
    if (this.names.length) {
      const found = [];
      const missing = [];
      for (const name of this.names) {
        const ref = refForArg(this.kind, name, this.namespace, this.flags.namespace);
        const obj = await reader.get(ref);
        if (obj) found.push(obj);
        else missing.push(ref);
      }
      if (found.length) ctx.out(await print(found, this.names.length === 1));
      await hint();
      if (missing.length) {
        const byNs = missing.every((r) => r.namespace === this.namespace);
        throw new NotFoundError(`${this.kind.plural} ${missing.map((m) => `"${byNs ? m.name : refString(m)}"`).join(', ')} not found${byNs ? this.where() : ''}`);
      }
      return;
    }
    const skipped = skippedKeys(ctx.err);
    const items = (await reader.list(this.kind.kind, { namespace: this.namespace, selector: this.selector, onInvalid: skipped.onInvalid })).filter((o) => matchesFields(this.fields, o));
    skipped.warn();
    await hint();
    if (items.length === 0 && this.output.format !== 'json' && this.output.format !== 'yaml' && this.output.format !== 'jsonpath') {
      ctx.err(`No ${this.kind.plural} found${this.where()}.\n`);
      return;
    }
    ctx.out(await print(items));
  }

  /** Who holds each node, from the Active bookings (as `info` shows it), for the table. */
  private async nodeContext(reader: Reader, nodes: Node[]): Promise<TableContext> {
    // Without leave to read all bookings (etcd auth), the daemons' own reports are shown.
    const bookings = await reader.list('Booking').catch(() => undefined);
    return bookings ? { holders: nodeHolders(nodes, bookings) } : {};
  }

  private where(): string {
    return this.namespace ? ` in namespace ${this.namespace}` : '';
  }

  /** The live view: list, then a line per change, until the signal (Ctrl-C) aborts it. */
  private async runWatch(ctx: Ctx): Promise<void> {
    const signal = ctx.handleInterrupts();
    const store = await ctx.client.store();
    const { Informer } = await import('../../../../crds/api/informer.js');
    const printer = new WatchPrinter(this.printOptions());
    const refs = this.names.map((n) => refForArg(this.kind, n, this.namespace, this.flags.namespace));
    const wanted = (o: any) =>
      this.names.length
        ? refs.some((r) => r.name === o.metadata.name && (r.namespace === undefined || r.namespace === o.metadata.namespace))
        : matches(this.selector, o.metadata.labels) && matchesFields(this.fields, o);
    let synced = false;
    // Writes stay in order even though yaml printing is async.
    let chain = Promise.resolve();
    const emit = (make: () => Promise<string>) => (chain = chain.then(async () => ctx.out(await make())));
    const informer = new Informer(store, this.kind.kind, {
      namespace: this.namespace,
      onSync: (items) => {
        if (synced) return;
        synced = true;
        const shown = this.sortBy ? sortBy(items.filter(wanted), this.sortBy) : items.filter(wanted);
        if (shown.length === 0) ctx.err(`No ${this.kind.plural} found${this.where()} yet; watching for changes (Ctrl-C to stop).\n`);
        emit(() => printer.initial(shown));
      },
      onEvent: (ev: InformerEvent<any>) => {
        if (!synced || !wanted(ev.object)) return;
        emit(() => printer.change(ev.object, ev.type === 'DELETED'));
      },
      onInvalid: (p) => ctx.err(`warning: not shown: ${p.problem}\n`),
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
    .description('Show objects of a kind: bookings (bk), nodes (no), clusterconfigs (cc), usagerecords (ur), pools (pl), accounts (acct)')
    .argument('<kind>', 'kind to show, or KIND/NAME')
    .argument('[names...]', 'names of the objects (default: all)')
    .option('-o, --output <format>', 'table, wide, yaml, json, name, jsonpath=TEMPLATE, jsonpath-file=FILE, custom-columns=HEADER:PATH,..., custom-columns-file=FILE', 'table')
    .option('-l, --selector <selector>', 'label selector: a=b, a!=b, a in (x,y), a, !a')
    .option('--field-selector <selector>', 'field selector: FIELD=VALUE, FIELD==VALUE, FIELD!=VALUE, comma-separated (e.g. status.phase!=Expired)')
    .option('--sort-by <path>', 'sort by a field (JSONPath, e.g. .status.startTime or {.metadata.name})')
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
        '# One booking as YAML; another user\'s as NAMESPACE/NAME',
        'kiwictl get booking bk-1 -o yaml',
        'kiwictl get booking alice/bk-1',
        '# Bookings not over yet, soonest start first',
        'kiwictl get bk -A --field-selector status.phase!=Expired --sort-by .status.startTime',
        '# Just the names and phases, for a script',
        'kiwictl get bk -o jsonpath=\'{range .items[*]}{.metadata.name} {.status.phase}{"\\n"}{end}\'',
        'kiwictl get nodes -o custom-columns=NAME:.metadata.name,ADDRESS:.spec.address',
        '# Watch the nodes change until Ctrl-C',
        'kiwictl get nodes -w',
      ),
    )
    .action(verbAction(() => new GetOptions()));
}

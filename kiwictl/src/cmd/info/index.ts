// kiwictl info: every node at a glance (as the original Kiwi's `kiwi info` or Slurm's sinfo):
// state, who holds it, since and until when, time left, bookings waiting, labels. Reads with
// the fast reader (nodes and bookings in two calls), so it answers in a blink.
import type { Command } from 'commander';
import { parseSelector, matches, type Requirement } from '../../../../crds/api/selector.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { renderTable } from '../../printers/table.js';
import { shortRemaining, shortTime } from '../../printers/format.js';
import { formatLabels, infoRows, poolSections, type InfoRow } from './rows.js';
import { skippedKeys } from '../resource.js';
import { readLeader, stalenessHint } from '../../client/staleness.js';

export function infoTable(rows: InfoRow[], now: Date): string {
  const t = (iso?: string) => (iso ? shortTime(iso, now) : '-');
  return renderTable(
    ['NODE', 'STATE', 'USER', 'BOOKING', 'SINCE', 'UNTIL', 'REMAINING', 'WAITING', 'LABELS'],
    rows.map((r) => [r.node, r.state, r.user ?? '-', r.booking ?? '-', t(r.since), t(r.until), r.remainingSeconds !== undefined ? shortRemaining(r.remainingSeconds) : '-', String(r.waiting || '-'), formatLabels(r.labels)]),
  );
}

export class InfoOptions implements Options {
  format: 'table' | 'json' = 'table';
  selector: Requirement[] = [];

  complete(_args: string[], flags: { output?: string; selector?: string }): void {
    if (flags.output && flags.output !== 'table' && flags.output !== 'json') throw usage(`-o ${flags.output}: info prints table or json`);
    this.format = (flags.output as 'table' | 'json') ?? 'table';
    this.selector = flags.selector ? parseSelector(flags.selector) : [];
  }

  validate(): void {}

  async run(ctx: Ctx): Promise<void> {
    const reader = await ctx.client.reader();
    const skipped = skippedKeys(ctx.err);
    const [nodes, bookings, pools, leader] = await Promise.all([reader.list('Node', skipped), reader.list('Booking', skipped), reader.list('Pool', skipped), readLeader(reader).catch(() => undefined)]);
    skipped.warn();
    const hint = leader && stalenessHint(leader, Date.now());
    if (hint) ctx.err(hint + '\n');
    const now = new Date();
    const rows = infoRows(nodes.filter((n) => matches(this.selector, n.metadata.labels)), bookings, now);
    const sections = pools.length ? poolSections(rows, pools) : undefined;
    if (this.format === 'json') return ctx.out(JSON.stringify(rows, null, 2) + '\n');
    if (!rows.length) return ctx.err(nodes.length ? 'No nodes match the selector.\n' : 'No nodes yet: add one with `kiwictl add-node NAME --host HOST`.\n');
    if (sections) return ctx.out(sections.filter((s) => s.rows.length).map((s) => `${s.title}\n${infoTable(s.rows, now)}`).join('\n'));
    ctx.out(infoTable(rows, now));
  }
}

export function registerInfo(program: Command): Command {
  return program
    .command('info')
    .description('All nodes at a glance: state (free, booked, cordoned, draining, drained, down), user, booking, since, until, time left, bookings waiting, labels')
    .option('-o, --output <format>', 'table or json', 'table')
    .option('-l, --selector <selector>', 'only nodes with these labels: a=b, a!=b, a in (x,y), a, !a')
    .addHelpText('after', examples('kiwictl info', 'kiwictl info -l gpu=a100', 'kiwictl info -o json | jq \'.[] | select(.state == "free") | .node\''))
    .action(verbAction(() => new InfoOptions()));
}

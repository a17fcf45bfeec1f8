// kiwictl history: my bookings over the last month (Slurm's sacct), from the bookings and their
// events, so that deleted bookings still show. -u USER or -A for others' (admins' reads).
import type { Command } from 'commander';
import type { KiwiEvent } from '../../../../crds/api/types.js';
import { ROOT } from '../../../../crds/api/keys.js';
import { parseDuration, formatDuration } from '../../../../crds/api/duration.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { namespaceFor } from '../resource.js';
import { kindInfo } from '../../../../crds/api/kinds.js';
import { rawValues } from '../../client/reader.js';
import { renderTable } from '../../printers/table.js';
import { shortTime } from '../../printers/format.js';
import { historyRows } from './rows.js';

export class HistoryOptions implements Options {
  user?: string;
  all = false;
  sinceMs = 30 * 86400_000;
  format: 'table' | 'json' = 'table';

  complete(_args: string[], flags: { user?: string; allNamespaces?: boolean; since?: string; output?: string }): void {
    this.user = flags.user;
    this.all = Boolean(flags.allNamespaces);
    if (flags.since !== undefined) {
      try {
        this.sinceMs = parseDuration(flags.since) * 1000;
      } catch (e) {
        throw usage(`--since ${flags.since}: ${(e as Error).message}; e.g. 7d, 12h`);
      }
    }
    if (flags.output && flags.output !== 'table' && flags.output !== 'json') throw usage(`-o ${flags.output}: history prints table or json`);
    this.format = (flags.output as 'table' | 'json') ?? 'table';
  }

  validate(): void {
    if (this.user && this.all) throw usage('give -u USER or -A, not both');
  }

  async run(ctx: Ctx): Promise<void> {
    const reader = await ctx.client.reader();
    const ns = namespaceFor(kindInfo('Booking'), { namespace: this.user, allNamespaces: this.all }); // as get's -n/-A
    const eventsPrefix = `${ROOT}events/bookings/${ns ? `${ns}/` : ''}`;
    const [bookings, raw] = await Promise.all([reader.list('Booking', { namespace: ns }), rawValues(reader, eventsPrefix, true)]);
    const events: KiwiEvent[] = [];
    for (const kv of raw) {
      try {
        events.push(JSON.parse(kv.value));
      } catch {
        // an event that is not JSON tells nothing: skipped
      }
    }
    const now = Date.now();
    const rows = historyRows(bookings, events, now - this.sinceMs, now);
    if (this.format === 'json') return ctx.out(JSON.stringify(rows, null, 2) + '\n');
    if (!rows.length) return ctx.err(`No bookings${ns ? ` of ${ns}` : ''} in the last ${formatDuration(this.sinceMs / 1000)}.\n`);
    const d = new Date(now);
    const t = (iso?: string) => (iso ? shortTime(iso, d) : '-');
    ctx.out(
      renderTable(
        ['BOOKING', 'USER', 'NODES', 'SUBMITTED', 'START', 'END', 'ELAPSED', 'STATE'],
        rows.map((r) => [r.booking, r.user, r.nodes.join(',') || '-', t(r.submitted), t(r.start), t(r.end), r.elapsed !== undefined ? formatDuration(r.elapsed) : '-', r.deleted ? `${r.state} (deleted)` : r.state]),
      ),
    );
  }
}

export function registerHistory(program: Command): Command {
  return program
    .command('history')
    .description('Your bookings over the last month, as Slurm\'s sacct: submitted, start, end, time held, how each ended (deleted ones too, from their events)')
    .option('-u, --user <user>', 'another user\'s bookings')
    .option('-A, --all-namespaces', 'everybody\'s bookings')
    .option('--since <duration>', 'how far back (default 30d)', '30d')
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText('after', examples('kiwictl history', 'kiwictl history --since 7d', 'kiwictl history -A -o json'))
    .action(verbAction(() => new HistoryOptions()));
}

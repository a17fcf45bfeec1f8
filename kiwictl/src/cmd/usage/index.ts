// kiwictl usage: what accounts have and what was used (Slurm's sreport and sshare, from Kiwi's
// own records). The accounts' balances (allocation, available, encumbered, charged), then
// node-hours and units of the usage records filed in --from/--to, grouped --by user, account,
// pool or node; --utilization adds sreport's cluster utilization. Table, CSV or JSON.
// One range read of the records: they are keyed by the time they are filed at.
import type { Command } from 'commander';
import type { Account, Booking } from '../../../../crds/api/types.js';
import { parseTime } from '../../../../crds/api/time.js';
import { parseDuration } from '../../../../crds/api/duration.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { renderTable } from '../../printers/table.js';
import { listUsageRecords } from '../get/usage.js';
import { accountRows, DIMENSIONS, toCsv, usageRows, utilization, type Dimension } from './report.js';

type Format = 'table' | 'csv' | 'json';

export class UsageOptions implements Options {
  from = 0;
  to = 0;
  by: Dimension[] = ['account', 'user'];
  format: Format = 'table';
  utilization = false;
  accountsOnly = false;

  complete(_args: string[], flags: { from?: string; to?: string; by?: string; output?: string; utilization?: boolean; accounts?: boolean }): void {
    const now = Date.now();
    const when = (flag: string, v: string) => {
      try {
        return parseTime(v, now);
      } catch (e) {
        throw usage(`--${flag} ${v}: ${(e as Error).message}`);
      }
    };
    // Default: this calendar month, UTC (the period a Monthly account charges in).
    const d = new Date(now);
    this.from = flags.from !== undefined ? when('from', flags.from) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    this.to = flags.to !== undefined ? when('to', flags.to) : now;
    if (flags.by !== undefined) {
      const dims = flags.by.split(',').map((x) => x.trim()).filter(Boolean);
      const bad = dims.filter((x) => !(DIMENSIONS as readonly string[]).includes(x));
      if (bad.length || !dims.length) throw usage(`--by ${flags.by}: give a comma-separated list of ${DIMENSIONS.join(', ')} (e.g. --by user,pool)`);
      this.by = dims as Dimension[];
    }
    const o = flags.output ?? 'table';
    if (o !== 'table' && o !== 'csv' && o !== 'json') throw usage(`-o ${o}: usage prints table, csv or json`);
    this.format = o;
    this.utilization = Boolean(flags.utilization);
    this.accountsOnly = Boolean(flags.accounts);
  }

  validate(): void {
    if (this.to <= this.from) throw usage(`--to ${new Date(this.to).toISOString()} is not after --from ${new Date(this.from).toISOString()}`);
  }

  async run(ctx: Ctx): Promise<void> {
    const reader = await ctx.client.reader();
    const now = Date.now();
    const iso = (t: number) => new Date(t).toISOString();
    const accounts = accountRows((await reader.list('Account')) as Account[], now);
    if (this.accountsOnly) return this.print(ctx, { accounts });
    // Records filed from --from; for utilization also those filed up to the longest booking later (they may have begun in the period).
    const cc = this.utilization ? await reader.get({ kind: 'ClusterConfig', name: 'default' }) : undefined;
    const reach = this.utilization ? parseDuration(cc?.spec?.maxDuration ?? 7 * 86400) * 1000 : 0;
    const records = await listUsageRecords(reader, { from: iso(this.from), to: iso(this.to + reach) });
    const rows = usageRows(records, this.by, this.from, this.to);
    let util;
    if (this.utilization) {
      const [nodes, bookings] = await Promise.all([reader.list('Node'), reader.list('Booking')]);
      util = utilization(records, (bookings as Booking[]).filter((b) => b.status?.phase === 'Active'), nodes.length, this.from, this.to, now);
    }
    this.print(ctx, { accounts, rows, util });
  }

  private print(ctx: Ctx, r: { accounts: ReturnType<typeof accountRows>; rows?: ReturnType<typeof usageRows>; util?: ReturnType<typeof utilization> }): void {
    const iso = (t: number) => new Date(t).toISOString();
    if (this.format === 'json') {
      ctx.out(JSON.stringify({ from: iso(this.from), to: iso(this.to), by: this.by, ...r, rows: r.rows?.map((x) => ({ ...x.group, bookings: x.bookings, nodeHours: x.nodeHours, units: x.units })) }, null, 2) + '\n');
      return;
    }
    const n = (v: number | undefined) => (v === undefined ? '-' : String(v));
    const aHead = ['ACCOUNT', 'PERIOD', 'ALLOCATION', 'AVAILABLE', 'ENCUMBERED', 'CHARGED', 'MEMBERS'];
    const aRows = r.accounts.map((a) => [a.account, a.period, n(a.allocation), a.problem ? `unreadable: ${a.problem}` : n(a.available), n(a.encumbered), n(a.charged), a.members.join(',') || '-']);
    const uHead = [...this.by.map((d) => d.toUpperCase()), 'BOOKINGS', 'NODE-HOURS', 'UNITS'];
    const uRows = (r.rows ?? []).map((x) => [...this.by.map((d) => x.group[d] ?? '-'), String(x.bookings), String(x.nodeHours), String(x.units)]);
    const tHead = ['FROM', 'TO', 'NODES', 'NODE-HOURS', 'ALLOCATED', 'IDLE', 'ALLOCATED%'];
    const tRow = r.util ? [[r.util.from, r.util.to, String(r.util.nodes), String(r.util.totalNodeHours), String(r.util.allocatedNodeHours), String(r.util.idleNodeHours), String(r.util.allocatedPercent)]] : [];
    if (this.format === 'csv') {
      // One table per output in CSV: the usage rows, or the accounts with --accounts, or utilization with --utilization.
      if (this.accountsOnly) return ctx.out(toCsv(aHead.map((h) => h.toLowerCase()), aRows));
      if (r.util) return ctx.out(toCsv(tHead.map((h) => h.toLowerCase()), tRow));
      return ctx.out(toCsv(uHead.map((h) => h.toLowerCase()), uRows));
    }
    const parts: string[] = [];
    if (r.accounts.length) parts.push(renderTable(aHead, aRows));
    else parts.push('No accounts: nothing is charged (an admin starts with `kiwictl apply -f account.yaml`).\n');
    if (r.rows) parts.push(`Usage ${iso(this.from)} to ${iso(this.to)}, by ${this.by.join(', ')}:\n` + (uRows.length ? renderTable(uHead, uRows) : 'no usage records in this period\n'));
    if (r.util) parts.push('Cluster utilization:\n' + renderTable(tHead, tRow));
    ctx.out(parts.join('\n'));
  }
}

export function registerUsage(program: Command): Command {
  return program
    .command('usage')
    .description('Accounts\' balances (allocation, available, encumbered, charged) and node-hours and units used over a period, by user, account, pool or node (sreport)')
    .option('--from <time>', 'start of the period (default: the first of this month, UTC)')
    .option('--to <time>', 'end of the period (default: now)')
    .option('--by <dims>', `group by, comma-separated: ${DIMENSIONS.join(', ')}`, 'account,user')
    .option('--utilization', 'also the cluster utilization: node-hours allocated against idle, as sreport cluster utilization')
    .option('--accounts', 'only the accounts\' balances (as kiwictl get accounts, with the current period)')
    .option('-o, --output <format>', 'table, csv or json', 'table')
    .addHelpText('after', examples('kiwictl usage', 'kiwictl usage --from 2026-11-01 --to 2026-12-01 --by user,pool', 'kiwictl usage --by node -o csv > nodes.csv', 'kiwictl usage --utilization -o json'))
    .action(verbAction(() => new UsageOptions()));
}

// etcd's database size against its quota, for the operator and the node daemons: every write
// stops once the database reaches the quota ("mvcc: database space exceeded"), so both export it
// as metrics and warn (a log line; the operator's leader also a Warning event on the
// ClusterConfig) when it passes ETCD_DB_SIZE_WARN_RATIO. The size comes from the Maintenance
// Status API (of the member the client reaches; members' files grow alike); the quota is etcd's
// --quota-backend-bytes, which the API does not report, so it is a setting (KIWI_ETCD_QUOTA_BYTES).
import type { Etcd3 } from 'etcd3';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from './log.js';
import { ETCD_DB_SIZE_WARN_RATIO, ETCD_QUOTA_BACKEND_BYTES } from './etcd-server.js';

export interface DbSizeSample {
  /** The database file of the member that answered, in bytes. */
  dbSize: number;
  quota: number;
}

/**
 * Pure: whether a sample starts or ends a warning. It starts past `warnRatio` and ends only below
 * `warnRatio - 0.05`, so a size wobbling around the line does not warn at every check.
 */
export function dbSizeTransition(warning: boolean, s: DbSizeSample, warnRatio = ETCD_DB_SIZE_WARN_RATIO): 'warn' | 'clear' | undefined {
  const ratio = s.dbSize / s.quota;
  if (!warning && ratio >= warnRatio) return 'warn';
  if (warning && ratio < warnRatio - 0.05) return 'clear';
  return undefined;
}

const MiB = 1024 * 1024;
export function dbSizeMessage(s: DbSizeSample): string {
  const pct = Math.round((100 * s.dbSize) / s.quota);
  return (
    `etcd's database is ${(s.dbSize / MiB).toFixed(0)} MiB, ${pct}% of its ${(s.quota / MiB).toFixed(0)} MiB quota: ` +
    'at the quota every write fails. Check that auto-compaction is on, then defragment each member ' +
    '(etcdctl defrag), or raise --quota-backend-bytes (docs/operations.md)'
  );
}

export interface DbSizeMonitorOptions {
  etcd: Etcd3;
  registry: Registry;
  log: Logger;
  quotaBytes?: number;
  intervalMs?: number;
  /** Called at every check while the size is past the warning level (the operator's leader records an event, once). */
  onHigh?: (s: DbSizeSample, message: string) => Promise<void> | void;
  /** Called when it falls back below. */
  onClear?: () => void;
}

/** Polls Maintenance Status, keeps kiwi_etcd_db_size_bytes and kiwi_etcd_db_quota_bytes current, warns. */
export class DbSizeMonitor {
  private timer: NodeJS.Timeout | undefined;
  private warning = false;
  readonly quota: number;
  private readonly size: Gauge;

  constructor(private readonly o: DbSizeMonitorOptions) {
    this.quota = o.quotaBytes ?? ETCD_QUOTA_BACKEND_BYTES;
    this.size = new Gauge({ name: 'kiwi_etcd_db_size_bytes', help: "Size of etcd's database file (of the member answering the Maintenance Status API)", registers: [o.registry] });
    const quota = new Gauge({ name: 'kiwi_etcd_db_quota_bytes', help: "etcd's backend quota (--quota-backend-bytes, as set in KIWI_ETCD_QUOTA_BYTES): writes fail once the database reaches it", registers: [o.registry] });
    quota.set(this.quota);
  }

  start(): this {
    const run = () => void this.check().catch((err) => this.o.log.debug({ err }, 'etcd status for the db-size metric failed'));
    run();
    this.timer = setInterval(run, this.o.intervalMs ?? 30_000);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One check: reads the status, updates the gauge, warns or clears. */
  async check(): Promise<DbSizeSample> {
    const st = await this.o.etcd.maintenance.status();
    const s = { dbSize: Number(st.dbSize), quota: this.quota };
    this.size.set(s.dbSize);
    const t = dbSizeTransition(this.warning, s);
    if (t === 'warn') {
      this.warning = true;
      this.o.log.warn({ dbSize: s.dbSize, quota: s.quota }, dbSizeMessage(s));
    } else if (t === 'clear') {
      this.warning = false;
      this.o.log.info({ dbSize: s.dbSize, quota: s.quota }, "etcd's database is back below the warning level");
      this.o.onClear?.();
    }
    if (this.warning) await this.o.onHigh?.(s, dbSizeMessage(s));
    return s;
  }
}

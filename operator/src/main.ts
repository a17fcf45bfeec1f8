// kiwi-operator: wiring only. Settings, logs, metrics endpoints, signals.
// Every setting is a flag, a KIWI_* variable or a key of the config file, with one precedence:
// flag > environment > config file (--config / KIWI_CONFIG / /etc/kiwi/operator.yaml) > default
// (crds/api/settings.ts; the list is in operator/README.md and `kiwi-operator --help`).
import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { connect, etcdSecurity, keys, logger, parseEndpoints, startupAuthCheck, Store, type EtcdSecurityFlags } from '../../crds/api/index.js';
import { countRejections, newRegistry, operatorMetrics } from '../../crds/api/metrics.js';
import { parseListenAddr, startObserveServer, type ObserveServer } from '../../crds/api/observe.js';
import { addConfigOption, addEtcdSecurityOptions, parseSettings } from '../../crds/api/settings.js';
import { Operator } from './operator.js';
import { DbSizeMonitor } from '../../crds/api/etcd-db-size.js';
import { ETCD_QUOTA_BACKEND_BYTES } from '../../crds/api/etcd-server.js';
import { CLUSTER_CONFIG_NAME } from '../../crds/api/config.js';

export const DEFAULT_CONFIG_FILE = '/etc/kiwi/operator.yaml';
export const DEFAULT_METRICS_ADDR = '127.0.0.1:9464';

const program = new Command('kiwi-operator')
  .description('Admits, queues, schedules, activates and expires Kiwi bookings. Run any number of replicas: one leads, the others stand by.')
  .addOption(new Option('--endpoints <urls>', 'etcd client URLs, comma separated').env('KIWI_ENDPOINTS').default('http://127.0.0.1:2379'))
  .addOption(new Option('--lease-ttl <seconds>', 'election lease TTL; a standby takes over about this long after the leader dies').env('KIWI_LEASE_TTL').default('2'))
  .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error').env('KIWI_LOG_LEVEL').default('info'))
  .addOption(new Option('--id <name>', 'this replica\'s name in the election (default: host-pid)').env('KIWI_OPERATOR_ID'))
  .addOption(new Option('--resync <seconds>', 'seconds between full reconcile passes').env('KIWI_RESYNC').default('60'))
  .addOption(new Option('--retention-sweep <seconds>', 'seconds between retention sweeps (usage records, deleting what the ClusterConfig\'s retention lets go, compaction)').env('KIWI_RETENTION_SWEEP').default('10'))
  .addOption(new Option('--metrics-addr <addr>', 'HOST:PORT of /metrics, /healthz, /readyz; a bare PORT means 127.0.0.1:PORT; "none" disables').env('KIWI_METRICS_ADDR').default(DEFAULT_METRICS_ADDR))
  .addOption(new Option('--etcd-quota-bytes <bytes>', "etcd's --quota-backend-bytes, for the kiwi_etcd_db_* metrics and the warning at 80%").env('KIWI_ETCD_QUOTA_BYTES').default(String(ETCD_QUOTA_BACKEND_BYTES)));
addConfigOption(program, DEFAULT_CONFIG_FILE);
// [security] etcd user and TLS (docs/security.md)
addEtcdSecurityOptions(program, { user: 'etcd user (auth on: kiwi-operator)', passwordFile: 'file with the etcd password, or a credential file from `kiwictl admin`' })
  .addOption(new Option('--insecure-no-auth', 'run against a non-loopback etcd whose authentication is off (anyone who reaches it can then rewrite calendars and make themselves admin)').env('KIWI_INSECURE_NO_AUTH'));

interface Opts { endpoints: string; leaseTtl: string; logLevel: string; id?: string; resync: string; retentionSweep: string; metricsAddr: string; etcdQuotaBytes: string; config?: string; insecureNoAuth?: boolean | string }
let settings;
try {
  settings = parseSettings<Opts>(program, process.argv.slice(2), DEFAULT_CONFIG_FILE);
} catch (err) {
  logger('kiwi-operator').error({ err }, (err as Error).message);
  process.exit(2);
}
const o = settings.opts;
const log = logger('kiwi-operator', o.logLevel);
const id = o.id ?? `${hostname()}-${process.pid}`;
const ttl = Number(o.leaseTtl);
if (!Number.isInteger(ttl) || ttl < 1) {
  log.error({ leaseTtl: o.leaseTtl, source: settings.sources.leaseTtl }, 'lease TTL (--lease-ttl, KIWI_LEASE_TTL, leaseTtl) must be a whole number of seconds, at least 1');
  process.exit(2);
}
const sweep = Number(o.retentionSweep);
if (!(sweep > 0)) {
  log.error({ retentionSweep: o.retentionSweep, source: settings.sources.retentionSweep }, 'retention sweep (--retention-sweep, KIWI_RETENTION_SWEEP, retentionSweep) must be a positive number of seconds');
  process.exit(2);
}
let metricsAddr;
try {
  metricsAddr = parseListenAddr(o.metricsAddr);
} catch (err) {
  log.error({ err, metricsAddr: o.metricsAddr, source: settings.sources.metricsAddr }, (err as Error).message);
  process.exit(2);
}
const endpoints = parseEndpoints(o.endpoints, '--endpoints');
let security; // [security]
try {
  security = etcdSecurity(o as EtcdSecurityFlags);
} catch (err) {
  log.error((err as Error).message);
  process.exit(2);
}
const client = connect({ endpoints, callTimeoutMs: 5000, ...security });
const registry = newRegistry();
let op: Operator | undefined;
const metrics = operatorMetrics(registry, { bookingPhases: () => op?.bookingPhases(), isLeader: () => op?.leading ?? false, nodePhases: () => op?.nodePhases(), waiting: () => op?.waiting(), accounts: () => op?.accountUnits() });
// Every failed Store call is counted by its method (txn, get, ...).
const store = countRejections(new Store(client, { endpoints }), (what) => metrics.etcdErrors.inc({ op: what }));
op = new Operator({ client, store, log, id, leaseTtlSeconds: ttl, resyncMs: Number(o.resync) * 1000, retentionSweepMs: sweep * 1000, metrics });

// Readiness: etcd answers (a one-key read every 2 s, the election key) and, when leading, the
// cache has its snapshot. A hot standby that reaches etcd is ready: it can take over at once.
let etcdOkAt = 0;
let etcdProblem = 'not connected to etcd yet';
const probeEtcd = () =>
  client.get(keys.election()).exec().then(
    () => {
      etcdOkAt = Date.now();
    },
    (err: Error) => {
      etcdProblem = `etcd at ${endpoints.join(',')}: ${err.message}`;
      metrics.etcdErrors.inc({ op: 'probe' });
    },
  );
const probe = setInterval(() => void probeEtcd(), 2000);
probe.unref();
void probeEtcd();
const readiness = () => {
  if (Date.now() - etcdOkAt > 5000) return { ready: false, detail: etcdProblem };
  if (op!.election.leadership && !op!.leading) return { ready: false, detail: 'leader, cache not synced yet' };
  return { ready: true, detail: op!.leading ? 'leader' : 'standby' };
};

let observe: ObserveServer | undefined;
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  observe?.beginShutdown();
  log.info({ signal }, 'stopping: resigning and cancelling watches');
  const force = setTimeout(() => {
    log.error('shutdown took longer than 10 s; exiting anyway');
    process.exit(1);
  }, 10_000);
  force.unref();
  try {
    await op!.stop();
  } catch (err) {
    log.error({ err }, 'error while stopping');
  }
  clearInterval(probe);
  await observe?.close();
  client.close();
  log.info('stopped');
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

log.info({ endpoints, leaseTtl: ttl, id, metricsAddr: metricsAddr ? `${metricsAddr.host}:${metricsAddr.port}` : 'none', configFile: settings.file ?? null, sources: settings.sources }, 'kiwi-operator starting');
if (metricsAddr) {
  // Not fatal: the operator's work goes on without its endpoints (a failing probe then tells).
  startObserveServer({ addr: metricsAddr, registry, readiness, log }).then(
    (s) => {
      observe = s;
      if (stopping) s.beginShutdown();
    },
    (err) => log.error({ err, metricsAddr: o.metricsAddr }, 'cannot serve /metrics, /healthz and /readyz (is the address in use? set --metrics-addr / KIWI_METRICS_ADDR, or "none")'),
  );
}
// Secure by default: not against a non-loopback etcd without auth, unless told (crds/api/endpoints.ts
// authVerdict). The operator can do nothing without etcd, so it waits for etcd's answer before it
// campaigns; its cache reads meanwhile (nothing is decided nor written before leading).
const authChecked = (async () => {
  const insecureNoAuth = o.insecureNoAuth === true || o.insecureNoAuth === '1' || o.insecureNoAuth === 'true';
  for (let waited = false; !stopping; waited = true) {
    const v = await startupAuthCheck({ endpoints, security: security!, insecureNoAuth, log });
    if (v?.action === 'refuse') {
      log.error({ endpoints }, v.message);
      process.exit(2);
    }
    if (v) return;
    if (!waited) log.warn({ endpoints }, 'etcd does not answer yet; waiting for it before leading');
    await new Promise((r) => setTimeout(r, 1000));
  }
})();
op.start(authChecked);

// etcd's database size against its quota; past 80% a warning in the log and, from the leader, a
// Warning event on the ClusterConfig (kiwictl describe clusterconfig default shows it).
const quotaBytes = Number(o.etcdQuotaBytes);
if (!Number.isInteger(quotaBytes) || quotaBytes <= 0) {
  log.error({ etcdQuotaBytes: o.etcdQuotaBytes }, '--etcd-quota-bytes (KIWI_ETCD_QUOTA_BYTES) must be a positive number of bytes');
  process.exit(2);
}
let dbSizeEventRecorded = false;
const dbSize = new DbSizeMonitor({
  etcd: client,
  registry,
  log,
  quotaBytes,
  // tests check more often than every 30 s
  intervalMs: (process.env.KIWI_TEST === '1' && Number(process.env.KIWI_TEST_DB_SIZE_INTERVAL_MS)) || 30_000,
  // one event per crossing, by whichever replica leads when it is seen
  onHigh: async (_s, message) => {
    if (!op!.leading || dbSizeEventRecorded) return;
    await store.recordEvent({ time: new Date().toISOString(), kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME, type: 'Warning', reason: 'EtcdDatabaseNearQuota', message, source: 'kiwi-operator' }).then(
      () => (dbSizeEventRecorded = true),
      (err) => log.warn({ err }, 'could not record the EtcdDatabaseNearQuota event; trying again at the next check'),
    );
  },
  onClear: () => (dbSizeEventRecorded = false),
}).start();
process.once('exit', () => dbSize.stop());

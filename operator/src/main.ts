// kiwi-operator: wiring only. Flags and environment, logs, signals.
//   --endpoints / KIWI_ENDPOINTS   etcd client URLs, comma separated (default http://127.0.0.1:2379)
//   --lease-ttl / KIWI_LEASE_TTL   election lease TTL in seconds (default 2: a standby takes over within ~3 s)
//   --log-level / KIWI_LOG_LEVEL   pino level (default info); JSON logs go to stderr
//   --id                           this replica's name in the election key (default host-pid)
//   --resync                       seconds between full passes (default 60)
import { Command } from 'commander';
import { hostname } from 'node:os';
import { connect, logger, Store } from '../../crds/api/index.js';
import { Operator } from './operator.js';

const program = new Command('kiwi-operator')
  .description('Admits, queues, schedules, activates and expires Kiwi bookings. Run any number of replicas: one leads, the others stand by.')
  .option('--endpoints <urls>', 'etcd client URLs, comma separated', process.env.KIWI_ENDPOINTS ?? 'http://127.0.0.1:2379')
  .option('--lease-ttl <seconds>', 'election lease TTL; a standby takes over about this long after the leader dies', process.env.KIWI_LEASE_TTL ?? '2')
  .option('--log-level <level>', 'trace, debug, info, warn, error', process.env.KIWI_LOG_LEVEL ?? 'info')
  .option('--id <name>', 'this replica\'s name in the election', `${hostname()}-${process.pid}`)
  .option('--resync <seconds>', 'seconds between full reconcile passes', '60')
  .parse();

const o = program.opts<{ endpoints: string; leaseTtl: string; logLevel: string; id: string; resync: string }>();
const log = logger('kiwi-operator', o.logLevel);
const ttl = Number(o.leaseTtl);
if (!Number.isInteger(ttl) || ttl < 1) {
  log.error({ leaseTtl: o.leaseTtl }, '--lease-ttl must be a whole number of seconds, at least 1');
  process.exit(2);
}
const endpoints = o.endpoints.split(',').map((s) => s.trim()).filter(Boolean);
const client = connect({ endpoints, callTimeoutMs: 5000 });
const store = new Store(client, { endpoints });
const op = new Operator({ client, store, log, id: o.id, leaseTtlSeconds: ttl, resyncMs: Number(o.resync) * 1000 });

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping: resigning and cancelling watches');
  const force = setTimeout(() => {
    log.error('shutdown took longer than 10 s; exiting anyway');
    process.exit(1);
  }, 10_000);
  force.unref();
  try {
    await op.stop();
  } catch (err) {
    log.error({ err }, 'error while stopping');
  }
  client.close();
  log.info('stopped');
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

log.info({ endpoints, leaseTtl: ttl, id: o.id }, 'kiwi-operator starting');
op.start();

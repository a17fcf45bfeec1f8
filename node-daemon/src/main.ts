// kiwi-node-daemon: wiring only. Settings, the Daemon, metrics endpoints, signals.
//
//   kiwi-node-daemon --endpoints http://10.0.0.1:2379 [--node-name NAME] [--state-dir DIR]
//
// Every setting is a flag, a KIWI_* variable or a key of the config file, with one precedence:
// flag > environment > config file (--config / KIWI_CONFIG / /etc/kiwi/node-daemon.yaml) > default
// (crds/api/settings.ts; the list is in node-daemon/README.md).
//
// Test mode (KIWI_TEST=1): only kiwitest* users (further narrowed by --only-users-matching) are
// ever signalled; KIWI_TEST_UNKILLABLE_MARK makes processes whose command line contains it
// unkillable to the daemon (to exercise the drain path); KIWI_TEST_CLOCK_OFFSET_MS shifts the
// daemon's clock (to exercise ClockSkew). None of these is honoured without KIWI_TEST=1.
import { Command, Option } from 'commander';
import { Store, connect, etcdSecurity, logger, parseEndpoints, startupAuthCheck, type EtcdSecurityFlags } from '../../crds/api/index.js';
import { startVirtualNodes } from './simulate/virtual-nodes.js';
import { Daemon, defaultNodeName, spareByCmdline } from './daemon.js';
import { DAEMON_VERSION } from './version.js';
// [metrics] /metrics, /healthz, /readyz and the settings precedence (crds/api/)
import { daemonMetrics, newRegistry } from '../../crds/api/metrics.js';
import { parseListenAddr, startObserveServer, type ObserveServer } from '../../crds/api/observe.js';
import { addConfigOption, addEtcdSecurityOptions, parseSettings, type Settings } from '../../crds/api/settings.js';
// [pam] the PAM socket and bypass file (owner: PAM login gate; see node-daemon/src/pam/)
import { join } from 'node:path';
import { startPamServer, DEFAULT_PAM_SOCKET } from './pam/server.js';
import { writeBypassFile, BYPASS_FILE_NAME } from './pam/bypass-file.js';
import { cgroupAdopter } from './pam/adopt.js';
import { DbSizeMonitor } from '../../crds/api/etcd-db-size.js';
import { ETCD_QUOTA_BACKEND_BYTES } from '../../crds/api/etcd-server.js';

export interface MainOptions extends EtcdSecurityFlags {
  endpoints: string;
  nodeName: string;
  address?: string;
  stateDir: string;
  leaseTtl: number;
  logLevel: string;
  onlyUsersMatching?: string;
  cleanupTimeout: number;
  statusInterval: number;
  idleSampleInterval: number;
  cgroups: boolean;
  // [pam]
  pam: boolean;
  pamSocket: string;
  pamBypassFile?: string;
  // [metrics]
  metricsAddr: string;
  etcdQuotaBytes: number;
  config?: string;
  /** Simulated nodes: stand in for this many node daemons, enforcing nothing (bench/scale). */
  simulate?: number;
  /** Simulated nodes obey power saving: their boot time (s) and the wake-on-LAN port on 127.0.0.1. */
  simulateBootTime?: number;
  simulateWolPort?: number;
  ethtool: string;
  wolInterface?: string;
  wakeOnLan: boolean;
  powerOffCommand: string;
  /** Run against a non-loopback etcd without auth (crds/api/endpoints.ts authVerdict). */
  insecureNoAuth?: boolean;
}

export const DEFAULT_CONFIG_FILE = '/etc/kiwi/node-daemon.yaml';
export const DEFAULT_METRICS_ADDR = '127.0.0.1:9465';

/** Flags > KIWI_* environment > config file > defaults (crds/api/settings.ts). */
export function parseArgs(argv: string[]): Settings<MainOptions> {
  const int = (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${v}"`);
    return n;
  };
  const cmd = new Command('kiwi-node-daemon')
    .description('Registers this node with Kiwi, heartbeats, watches its calendar and ends booked users\' processes when their booking ends.')
    .version(DAEMON_VERSION)
    .addOption(new Option('--endpoints <urls>', 'etcd endpoints, comma-separated').env('KIWI_ENDPOINTS').default('http://127.0.0.1:2379'))
    .addOption(new Option('--node-name <name>', 'name of this Node').env('KIWI_NODE_NAME').default(defaultNodeName()))
    .addOption(new Option('--address <host>', 'address users ssh to, for a newly registered Node (default: the node name)').env('KIWI_NODE_ADDRESS'))
    .addOption(new Option('--state-dir <dir>', 'where the last view is kept across restarts').env('KIWI_STATE_DIR').default('/var/lib/kiwi'))
    .addOption(new Option('--lease-ttl <seconds>', 'heartbeat TTL: the node is NotReady when its heartbeat has not changed for this long and one beat (TTL/3); the heartbeat key\'s etcd lease is 3x as long').env('KIWI_LEASE_TTL').default(3).argParser(int))
    .addOption(new Option('--log-level <level>', 'pino log level').env('KIWI_LOG_LEVEL').default('info'))
    .addOption(new Option('--only-users-matching <regex>', 'never signal users whose name does not match (KIWI_TEST=1: never users outside ^kiwitest, whatever this says)').env('KIWI_ONLY_USERS_MATCHING'))
    .addOption(new Option('--cleanup-timeout <seconds>', 'how long SIGKILL rounds go on before the node is drained').env('KIWI_CLEANUP_TIMEOUT').default(30).argParser(int))
    .addOption(new Option('--status-interval <seconds>', 'period of heartbeatTime and clock-skew updates in the Node status').env('KIWI_STATUS_INTERVAL').default(30).argParser(int))
    .addOption(new Option('--idle-sample-interval <seconds>', 'period of measuring the activity of users whose bookings opted in to idle release').env('KIWI_IDLE_SAMPLE_INTERVAL').default(10).argParser(int))
    .option('--no-cgroups', 'do not use per-booking cgroups even where cgroup v2 is available')
    // [power] power saving: wake-on-LAN restored at start, the machine powered off when asked
    .addOption(new Option('--ethtool <path>', 'ethtool, by its absolute path, to restore wake-on-LAN at start').env('KIWI_ETHTOOL').default('/usr/sbin/ethtool'))
    .addOption(new Option('--wol-interface <name>', 'the network interface whose wake-on-LAN is restored (default: the default route\'s)').env('KIWI_WOL_INTERFACE'))
    .option('--no-wake-on-lan', 'do not restore wake-on-LAN at start')
    .addOption(new Option('--power-off-command <path>', 'what powers this machine off when power saving asks the daemon to (action wakeOnLan without a powerOff command); absolute path').env('KIWI_POWER_OFF_COMMAND').default('/usr/sbin/poweroff'))
    // [pam]
    .addOption(new Option('--pam-socket <path>', 'Unix socket (0600, root) where the PAM module pam_kiwi.so asks who may log in').env('KIWI_PAM_SOCKET').default(DEFAULT_PAM_SOCKET))
    .addOption(new Option('--pam-bypass-file <path>', 'the always-allowed list pam_kiwi.so reads first (default: <state-dir>/pam-bypass)').env('KIWI_PAM_BYPASS_FILE'))
    .option('--no-pam', 'do not serve PAM checks nor write the bypass file');
  // [security] etcd user and TLS (docs/security.md)
  addEtcdSecurityOptions(cmd, { user: 'etcd user (auth on: kiwi-node-<node>)', passwordFile: 'file with the etcd password, or a credential file from `kiwictl admin add-user NODE --node`' })
    .addOption(new Option('--insecure-no-auth', 'run against a non-loopback etcd whose authentication is off (anyone who reaches it can then rewrite this node\'s calendar, and this daemon ends processes as root by it)').env('KIWI_INSECURE_NO_AUTH'));
  cmd.addOption(new Option('--simulate <count>', 'stand in for COUNT virtual nodes named <node-name>-N that register, heartbeat and watch their calendars but enforce nothing on this host (scale tests, as kubemark\'s hollow nodes)').env('KIWI_SIMULATE').argParser(int));
  cmd.addOption(new Option('--simulate-wol-port <port>', 'the virtual nodes obey power saving: PoweringOff powers one off, a wake-on-LAN packet to 127.0.0.1:PORT for its MAC boots it').env('KIWI_SIMULATE_WOL_PORT').argParser(int));
  cmd.addOption(new Option('--simulate-boot-time <seconds>', 'how long a virtual node takes to boot after its magic packet').env('KIWI_SIMULATE_BOOT_TIME').default(5).argParser(int));
  // [metrics]
  cmd.addOption(new Option('--metrics-addr <addr>', 'HOST:PORT of /metrics, /healthz, /readyz; a bare PORT means 127.0.0.1:PORT; "none" disables').env('KIWI_METRICS_ADDR').default(DEFAULT_METRICS_ADDR));
  cmd.addOption(new Option('--etcd-quota-bytes <bytes>', "etcd's --quota-backend-bytes, for the kiwi_etcd_db_* metrics and the warning at 80%").env('KIWI_ETCD_QUOTA_BYTES').default(ETCD_QUOTA_BACKEND_BYTES).argParser(int));
  addConfigOption(cmd, DEFAULT_CONFIG_FILE);
  return parseSettings<MainOptions>(cmd, argv, DEFAULT_CONFIG_FILE);
}

export async function main(argv = process.argv.slice(2)): Promise<Daemon | undefined> {
  const settings = parseArgs(argv);
  const o = settings.opts;
  const log = logger('kiwi-node-daemon', o.logLevel);
  if (o.simulate) {
    await simulate(o, log);
    return undefined;
  }
  // [metrics]
  const metricsAddr = parseListenAddr(o.metricsAddr);
  const registry = newRegistry();
  let daemonRef: Daemon | undefined;
  const metrics = daemonMetrics(registry, { heartbeatOk: () => daemonRef?.heartbeatOk() ?? false });
  log.info({ node: o.nodeName, configFile: settings.file ?? null, sources: settings.sources, metricsAddr: metricsAddr ? `${metricsAddr.host}:${metricsAddr.port}` : 'none' }, 'settings');
  const test = process.env.KIWI_TEST === '1';
  // Test mode always keeps to kiwitest* users; a --only-users-matching narrows that further.
  const onlyUsers = test
    ? new RegExp(`^(?=kiwitest)${o.onlyUsersMatching ? `(?=[\\s\\S]*?(?:${o.onlyUsersMatching}))` : ''}`)
    : o.onlyUsersMatching ? new RegExp(o.onlyUsersMatching) : undefined;
  const mark = process.env.KIWI_TEST_UNKILLABLE_MARK;
  const offset = Number(process.env.KIWI_TEST_CLOCK_OFFSET_MS ?? 0);
  if (!test && (mark || offset)) log.warn('KIWI_TEST_* settings are ignored without KIWI_TEST=1');
  // [security] Secure by default: not against a non-loopback etcd without auth, unless told.
  const endpoints = parseEndpoints(o.endpoints, '--endpoints');
  const security = etcdSecurity(o);
  const authCheck = (timeoutMs?: number) => startupAuthCheck({ endpoints, security, insecureNoAuth: !!o.insecureNoAuth, log, timeoutMs });
  // A short first ask: with etcd unreachable the daemon must start enforcing its persisted view soon.
  const first = await authCheck(1000);
  if (first?.action === 'refuse') {
    log.error({ endpoints }, first.message);
    process.exit(2);
  }
  const daemon = new Daemon({
    node: o.nodeName,
    address: o.address,
    endpoints,
    etcdSecurity: security, // [security]
    stateDir: o.stateDir,
    leaseTtlSeconds: o.leaseTtl,
    log,
    onlyUsers,
    spare: test && mark ? spareByCmdline(mark) : undefined,
    cleanupTimeoutMs: o.cleanupTimeout * 1000,
    statusIntervalMs: o.statusInterval * 1000,
    idleSampleMs: o.idleSampleInterval * 1000,
    cgroups: o.cgroups,
    now: test && offset ? () => Date.now() + offset : undefined,
    metrics, // [metrics]
    wakeOnLan: o.wakeOnLan ? { ethtool: o.ethtool, iface: o.wolInterface } : false, // [power]
    // Tests never power the machine they run on off.
    powerOffCommand: test && o.powerOffCommand === '/usr/sbin/poweroff' ? '/bin/false' : o.powerOffCommand,
  });
  for (const [flag, p] of [['--ethtool', o.ethtool], ['--power-off-command', o.powerOffCommand]]) {
    if (!p.startsWith('/')) {
      log.error({ [flag]: p }, `${flag} must be an absolute path (the daemon runs as root and never searches PATH)`);
      process.exit(2);
    }
  }

  // ---- hooks for the other parts of the daemon ----
  // The PAM socket server answers from daemon.view() (the current LocalView); config-dependent
  // local files (e.g. a bypass list) are rewritten in daemon.onConfig(cfg => ...), which is
  // called once at start with the persisted config and again on every change.
  // ---- end of hooks ----

  // [metrics] begin: ready = the daemon's own readiness, and the PAM socket listening unless --no-pam.
  daemonRef = daemon;
  let pamUp = false;
  const readiness = () => {
    const r = daemon.readiness();
    if (r.ready && o.pam && !pamUp) return { ready: false, detail: `PAM socket ${o.pamSocket} not listening` };
    return r;
  };
  let observe: ObserveServer | undefined;
  if (metricsAddr) {
    // Not fatal: enforcement goes on without the endpoints (a failing probe then tells).
    observe = await startObserveServer({ addr: metricsAddr, registry, readiness, log }).catch((err) => {
      log.error({ err, metricsAddr: o.metricsAddr }, 'cannot serve /metrics, /healthz and /readyz (is the address in use? set --metrics-addr / KIWI_METRICS_ADDR, or "none"); enforcing without them');
      return undefined;
    });
  }
  // [metrics] end

  // [pam] begin: the PAM login gate (node-daemon/src/pam/). Failures here are logged, never
  // fatal: without the socket pam_kiwi.so falls back to the bypass file and pamFailMode.
  if (o.pam) {
    const bypassFile = o.pamBypassFile ?? join(o.stateDir, BYPASS_FILE_NAME);
    daemon.onConfig((cfg) => {
      if (writeBypassFile(bypassFile, cfg)) log.info({ bypassFile, sshBypassUsers: cfg.sshBypassUsers, admins: cfg.admins, minUid: cfg.minUid, pamFailMode: cfg.pamFailMode }, 'pam: bypass file written');
    });
    try {
      const getView = () => daemon.view();
      const now = () => daemon.now();
      const adopt = cgroupAdopter({ getView, now, cgroups: daemon.cgroups, onlyUsers });
      const onDecision = (d: { allow: boolean; outcome: string }) => metrics.pamDecisions.inc({ outcome: d.outcome, allow: String(d.allow) }); // [metrics]
      const pam = await startPamServer({ socketPath: o.pamSocket, getView, now, log, adopt, onDecision });
      pamUp = true;
      process.once('exit', () => pam.closeSync());
    } catch (err) {
      log.error({ err, socket: o.pamSocket }, 'pam: cannot serve PAM checks; logins fall back to the bypass file and pamFailMode');
    }
  }
  // [pam] end

  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    observe?.beginShutdown(); // [metrics] /healthz and /readyz answer 503 from now on
    log.info({ signal: sig }, 'shutting down');
    daemon.stop().then(
      async () => {
        await observe?.close();
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // A daemon that enforces bookings must not die of one unexpected rejection: log it, go on.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (a bug); the daemon goes on'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await daemon.start();
  if (!first) {
    // etcd did not answer at start: enforcing the persisted view meanwhile, ask again until it does.
    void (async () => {
      for (;;) {
        await new Promise((r) => setTimeout(r, 5000).unref());
        const v = await authCheck();
        if (!v) continue;
        if (v.action === 'refuse') {
          log.error({ endpoints }, v.message);
          await daemon.stop().catch(() => undefined);
          process.exit(2);
        }
        return;
      }
    })();
  }
  // [metrics] etcd's database size against its quota, and a warning log line past 80%
  const dbSize = new DbSizeMonitor({ etcd: daemon.etcdClient!, registry, log, quotaBytes: o.etcdQuotaBytes, intervalMs: 60_000 }).start();
  process.once('exit', () => dbSize.stop());
  return daemon;
}

/** --simulate N: virtual nodes only (node-daemon/src/simulate), until SIGTERM or SIGINT. */
async function simulate(o: MainOptions, log: ReturnType<typeof logger>): Promise<void> {
  const endpoints = parseEndpoints(o.endpoints, '--endpoints');
  const etcd = connect({ endpoints, callTimeoutMs: 5000, ...etcdSecurity(o) });
  const store = new Store(etcd, { endpoints });
  const nodes = await startVirtualNodes(store, etcd, { count: o.simulate!, prefix: o.nodeName, leaseTtlSeconds: o.leaseTtl, ...(o.simulateWolPort ? { power: { bootTimeMs: (o.simulateBootTime ?? 5) * 1000, wolPort: o.simulateWolPort } } : {}) }, log);
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping the virtual nodes');
    await nodes.stop();
    etcd.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  logger('kiwi-node-daemon').fatal({ err }, 'kiwi-node-daemon failed to start');
  process.exit(1);
});

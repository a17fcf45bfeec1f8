// kiwi-web: wiring only. Settings (flag > KIWI_* > /etc/kiwi/web.yaml > default), etcd, the hub,
// sessions, the HTTP server, signals. Prints "kiwi-web: calendar at URL" on stdout when it serves.
import { Command, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import { connect, etcdSecurity, logger, parseEndpoints, Store, type EtcdSecurityFlags } from '../../crds/api/index.js';
import { parseListenAddr } from '../../crds/api/observe.js';
import { addConfigOption, addEtcdSecurityOptions, parseSettings } from '../../crds/api/settings.js';
import { Hub } from './hub.js';
import { etcdAuthOn, loginMode, Sessions } from './auth.js';
import { createWebServer, listen } from './server.js';

export const DEFAULT_CONFIG_FILE = '/etc/kiwi/web.yaml';

const program = new Command('kiwi-web')
  .description('The Kiwi calendar in the browser and an HTTP API (Kubernetes-style paths) for scripts and notebooks.')
  .addOption(new Option('--listen <addr>', 'HOST:PORT to serve on; a bare PORT means 127.0.0.1:PORT (every interface must be asked for: 0.0.0.0:8080)').env('KIWI_WEB_LISTEN').default('127.0.0.1:8080'))
  .addOption(new Option('--endpoints <urls>', 'etcd client URLs, comma separated').env('KIWI_ENDPOINTS').default('http://127.0.0.1:2379'))
  .addOption(new Option('--login <mode>', 'auto: name-only dev login when etcd is on loopback without auth, else etcd; etcd: Kiwi etcd user and password; dev: name only (refused unless loopback and auth off)').choices(['auto', 'etcd', 'dev']).env('KIWI_WEB_LOGIN').default('auto'))
  .addOption(new Option('--no-anonymous-read', 'show the calendar only to logged-in users'))
  .addOption(new Option('--secure-cookies', 'mark the session cookie Secure (serve behind an HTTPS proxy)').env('KIWI_WEB_SECURE_COOKIES'))
  .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error').env('KIWI_LOG_LEVEL').default('info'));
addEtcdSecurityOptions(program, { user: 'etcd user the server reads with (auth on: one that may read /kiwi/)', passwordFile: 'file with that user\'s password, or a credential file from `kiwictl admin`' });
addConfigOption(program, DEFAULT_CONFIG_FILE);

interface Opts { listen: string; endpoints: string; login: 'auto' | 'etcd' | 'dev'; anonymousRead: boolean; secureCookies?: boolean; logLevel: string }

const fail = (log: ReturnType<typeof logger>, msg: string, extra: object = {}) => {
  log.error(extra, msg);
  process.exit(2);
};

let settings;
try {
  settings = parseSettings<Opts>(program, process.argv.slice(2), DEFAULT_CONFIG_FILE);
} catch (err) {
  fail(logger('kiwi-web'), (err as Error).message);
}
const o = settings!.opts;
const log = logger('kiwi-web', o.logLevel);
let addr;
try {
  addr = parseListenAddr(o.listen);
} catch (err) {
  fail(log, (err as Error).message.replace(/^metrics address/, '--listen'), { listen: o.listen });
}
if (!addr) fail(log, '--listen: give HOST:PORT or a PORT; kiwi-web has nothing to do without an address');
let security;
try {
  security = etcdSecurity(o as unknown as EtcdSecurityFlags);
} catch (err) {
  fail(log, (err as Error).message);
}
const endpoints = parseEndpoints(o.endpoints, '--endpoints');
const client = connect({ endpoints, callTimeoutMs: 5000, ...security });
const store = new Store(client, { endpoints });

const authOn = security!.auth ? true : await etcdAuthOn(store).catch((err) => fail(log, `etcd at ${endpoints.join(',')}: ${(err as Error).message}`) as never);
let mode;
try {
  mode = loginMode(endpoints, authOn, o.login);
} catch (err) {
  fail(log, (err as Error).message);
}
const hub = new Hub(store, log);
try {
  await hub.start();
} catch (err) {
  fail(log, `cannot read the cluster from etcd at ${endpoints.join(',')}: ${(err as Error).message}${authOn && !security!.auth ? ' (etcd has authentication on: give kiwi-web a user that may read /kiwi/ with --etcd-user/--etcd-password-file)' : ''}`);
}
const sessions = new Sessions({ mode: mode!.mode, store, etcd: { endpoints, tls: security!.tls }, authOn });
const assets = fileURLToPath(new URL('./kiwi-web/', import.meta.url));
const server = createWebServer({ hub, sessions, store, log, loginMode: mode!.mode, loginNote: mode!.note, anonymousRead: o.anonymousRead, assets, secureCookies: Boolean(o.secureCookies) });
let bound;
try {
  bound = await listen(server, addr!.host, addr!.port);
} catch (err) {
  fail(log, `cannot listen on ${o.listen}: ${(err as Error).message}`);
}
const host = bound!.family === 'IPv6' ? `[${bound!.address}]` : bound!.address;
const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound!.port}/`;
log.info({ url, loginMode: mode!.mode, note: mode!.note, endpoints }, 'serving');
process.stdout.write(`kiwi-web: calendar at ${url}\n`);

process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  server.closeAllConnections();
  server.close();
  sessions.closeAll();
  await hub.stop().catch(() => undefined);
  client.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

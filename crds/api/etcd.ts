// Connecting to etcd: a deadline on every unary call, etcd3's own retries switched off so
// that the store's cockatiel policy is the one place that decides what is retried.
import { Etcd3, isRecoverableError, Range, type IOptions, type IPermissionRequest } from 'etcd3';
import type { Grant } from './roles.js';
import { ConsecutiveBreaker, ExponentialBackoff, handleWhen, noop, circuitBreaker } from 'cockatiel';
import { readFileSync } from 'node:fs';
import { authVerdict, type AuthVerdict } from './endpoints.js';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import './tls-servername.js'; // Node 26 and etcd endpoints given as IP addresses over TLS

export interface EtcdConfig {
  endpoints: string[];
  /** Deadline of one call, in milliseconds. */
  callTimeoutMs?: number;
  /** Deadline of one call that writes (default the lesser of 2 s and callTimeoutMs). */
  writeTimeoutMs?: number;
  dialTimeoutMs?: number;
  auth?: { username: string; password: string };
  tls?: { caFile: string; certFile?: string; keyFile?: string };
}

/**
 * gRPC keepalives on every connection: a member that stops answering (paused, a half-open
 * link) is noticed in about 2 s and its calls fail over to another member, instead of hanging
 * until something times out. Without them a lease keepalive stream to a paused raft leader
 * stalled for the whole lease TTL, and the heartbeat lease expired. etcd answers pings at once
 * while a stream is open; its --grpc-keepalive-min-time (default 5 s) only limits pings without
 * streams, which we do not send (permit_without_calls 0).
 */
export const KEEPALIVE = {
  'grpc.keepalive_time_ms': 1_000,
  'grpc.keepalive_timeout_ms': 1_000,
  'grpc.keepalive_permit_without_calls': 0,
} as const;

export function connect(cfg: EtcdConfig): Etcd3 {
  const timeout = cfg.callTimeoutMs ?? 5000;
  // A write sent to a follower while the raft leader dies is never answered: etcd gives up on it
  // only after 5 s plus two election timeouts. Writes are safe to retry (every one compares a
  // revision, and a create finds its own uid), so a short deadline gets them to the new leader
  // in about 2 s instead of 6. Reads keep the long deadline: listing 100,000 objects takes time.
  const writeTimeout = cfg.writeTimeoutMs ?? Math.min(2000, timeout);
  const opts: IOptions = {
    hosts: cfg.endpoints,
    dialTimeout: cfg.dialTimeoutMs ?? timeout,
    // gRPC's default 4 MiB receive limit is hit by listing ~10,000 nodes with status; etcd itself
    // sends up to its own limits, so accept what it sends.
    grpcOptions: { 'grpc.max_receive_message_length': 1 << 30, ...KEEPALIVE },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + (writes(ctx.method, (ctx as { params?: unknown }).params) ? writeTimeout : timeout) }),
    // etcd3 1.1.2 types these with its own cockatiel 3; it only calls execute() on the policies and
    // next()/duration on the backoff, which cockatiel 4 keeps (test/integration/store.test.ts and
    // the failover tests run through them), so the cockatiel 4 objects are handed over as they are.
    faultHandling: {
      // A breaker per host lets a multi-member client skip a dead member quickly; the short
      // half-open time keeps a single-member client from refusing calls long after etcd is back.
      host: () => circuitBreaker(handleWhen((e) => e instanceof Error && isRecoverableError(e)), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
      global: noop,
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }).next(),
    } as unknown as IOptions['faultHandling'],
  };
  if (cfg.auth) opts.auth = cfg.auth;
  if (cfg.tls) {
    opts.credentials = {
      rootCertificate: readFileSync(cfg.tls.caFile),
      ...(cfg.tls.certFile ? { certChain: readFileSync(cfg.tls.certFile) } : {}),
      ...(cfg.tls.keyFile ? { privateKey: readFileSync(cfg.tls.keyFile) } : {}),
    };
  }
  return preferLiveMembers(new Etcd3(opts));
}

/** How long a member whose connection failed is tried after the others. */
export const SUSPECT_MS = 10_000;

/**
 * etcd3 picks a member at random for every call and stream, also one whose connection just
 * failed: a stream to a paused member is created at once and then waits for an HTTP/2
 * handshake that never comes (grpc-js has no connect timeout). A lease keepalive stream that
 * lands there stalls for the whole TTL and the lease expires. etcd's Go client avoids this by
 * picking only connected members; this does the same in etcd3's pool: members that failed in
 * the last SUSPECT_MS come last in its order (still tried when nothing else answers). Only the
 * order changes; etcd3 1.1.2's ConnectionPool (shuffledHosts, markFailed) is what it relies on.
 */
function preferLiveMembers(client: Etcd3): Etcd3 {
  type Host = object;
  const pool = (client as unknown as { pool?: { hosts?: Host[]; shuffledHosts?: () => Generator<Host>; markFailed?: (h: Host, e: unknown) => void } }).pool;
  if (!pool?.shuffledHosts || !pool.markFailed || !pool.hosts || pool.hosts.length < 2) return client;
  const failedAt = new WeakMap<Host, number>();
  const markFailed = pool.markFailed.bind(pool);
  pool.markFailed = (h, e) => {
    failedAt.set(h, Date.now());
    markFailed(h, e);
  };
  // A unary call that failed on a member (its deadline passed: a paused member) resets that
  // member's connection, and then its retry must go elsewhere first: picked at random again, a
  // heartbeat write went to the paused member twice and landed 4.8 s late (the fault suite).
  for (const h of pool.hosts as { resetAllServices?: () => void }[]) {
    const reset = h.resetAllServices?.bind(h);
    if (!reset) continue;
    h.resetAllServices = () => {
      failedAt.set(h, Date.now());
      reset();
    };
  }
  const shuffled = pool.shuffledHosts.bind(pool);
  pool.shuffledHosts = function* () {
    const g = shuffled();
    for (;;) {
      const round = Array.from({ length: pool.hosts!.length }, () => g.next().value as Host);
      const now = Date.now();
      const suspect = (h: Host) => now - (failedAt.get(h) ?? -Infinity) < SUSPECT_MS;
      yield* [...round.filter((h) => !suspect(h)), ...round.filter(suspect)];
    }
  };
  return client;
}

/** Does this call write? (a txn writes when one of its operations puts or deletes) */
export function writes(method: string, params: unknown): boolean {
  if (method === 'put' || method === 'deleteRange') return true;
  if (method !== 'txn') return false;
  const t = params as { success?: object[]; failure?: object[] } | undefined;
  return [...(t?.success ?? []), ...(t?.failure ?? [])].some((op) => 'request_put' in op || 'request_delete_range' in op);
}

export { isTransient, retryPolicy } from './retry.js';

/** What the operator and the node daemon take from flags/env: an etcd user and TLS files. */
export interface EtcdSecurityFlags {
  etcdUser?: string;
  /** A file holding the password: bare, or a credential file with `password:` (kiwictl admin writes those). */
  etcdPasswordFile?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

/** Turns the security flags into connect()'s auth and tls; throws a clear Error when they do not fit. */
export function etcdSecurity(f: EtcdSecurityFlags): Pick<EtcdConfig, 'auth' | 'tls'> {
  const out: Pick<EtcdConfig, 'auth' | 'tls'> = {};
  if (f.etcdPasswordFile && !f.etcdUser) {
    // a credential file names its user
    const c = readPasswordFile(f.etcdPasswordFile);
    if (!c.user) throw new Error(`--etcd-password-file ${f.etcdPasswordFile} holds no user: set --etcd-user (KIWI_ETCD_USER)`);
    out.auth = { username: c.user, password: c.password };
  } else if (f.etcdUser) {
    if (!f.etcdPasswordFile) throw new Error(`--etcd-user ${f.etcdUser} needs --etcd-password-file (KIWI_ETCD_PASSWORD_FILE)`);
    out.auth = { username: f.etcdUser, password: readPasswordFile(f.etcdPasswordFile).password };
  }
  if ((f.etcdCert && !f.etcdKey) || (f.etcdKey && !f.etcdCert)) throw new Error('--etcd-cert and --etcd-key (KIWI_ETCD_CERT, KIWI_ETCD_KEY) go together');
  if (f.etcdCert && !f.etcdCa) throw new Error('a client certificate needs --etcd-ca (KIWI_ETCD_CA), the CA of etcd\'s certificate');
  if (f.etcdCa) out.tls = { caFile: f.etcdCa, ...(f.etcdCert ? { certFile: f.etcdCert, keyFile: f.etcdKey } : {}) };
  return out;
}

function readPasswordFile(file: string): { user?: string; password: string } {
  const text = readFileSync(file, 'utf8').trim();
  const pw = /^password:\s*(.*)$/m.exec(text);
  if (!pw) return { password: text };
  const unquote = (v: string) => (/^".*"$/.test(v) ? JSON.parse(v) : /^'.*'$/.test(v) ? v.slice(1, -1) : v);
  const user = /^user:\s*(.*)$/m.exec(text);
  return { password: unquote(pw[1].trim()), ...(user ? { user: unquote(user[1].trim()) } : {}) };
}


/**
 * Asks etcd itself whether its authentication is off: a read without credentials through its
 * JSON gateway (POST /v3/kv/range) succeeds only then. true: off; false: on (refused for want
 * of a user); undefined: no answer (down, or not reachable this way).
 */
export async function etcdAuthOff(endpoint: string, tls?: EtcdConfig['tls'], timeoutMs = 3000): Promise<boolean | undefined> {
  const body = JSON.stringify({ key: Buffer.from('/kiwi/').toString('base64'), limit: 1, keys_only: true });
  const url = new URL('/v3/kv/range', endpoint);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      timeout: timeoutMs,
      ...(tls ? { ca: readFileSync(tls.caFile), ...(tls.certFile ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile!) } : {}) } : {}),
    }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (text.length < 65536) text += d;
      });
      res.on('end', () => {
        if (res.statusCode === 200 && /"header"/.test(text)) resolve(true);
        else if (/user name is empty|not authorized|authentication|invalid auth token|permission denied/i.test(text) || res.statusCode === 401 || res.statusCode === 403) resolve(false);
        else resolve(undefined);
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

/** etcd's own answer from the first endpoint that gives one (etcdAuthOff), or undefined. */
export async function probeAuthOff(endpoints: string[], tls?: EtcdConfig['tls'], timeoutMs = 3000): Promise<boolean | undefined> {
  for (const e of endpoints) {
    const off = await etcdAuthOff(e, tls, timeoutMs).catch(() => undefined);
    if (off !== undefined) return off;
  }
  // No JSON gateway (--enable-grpc-gateway=false): the same question over gRPC, without credentials.
  const c = connect({ endpoints, callTimeoutMs: timeoutMs, dialTimeoutMs: timeoutMs, ...(tls ? { tls } : {}) });
  try {
    await c.get(ROOT_PROBE_KEY).exec();
    return true;
  } catch (err) {
    return /user name is empty|not authorized|authentication|invalid auth token|permission denied|Unauthenticated/i.test(String((err as Error)?.message)) ? false : undefined;
  } finally {
    c.close();
  }
}

const ROOT_PROBE_KEY = '/kiwi/';

/**
 * The start-up check of the operator and the node daemon (endpoints.ts authVerdict, with etcd
 * asked whether its auth is off): logs the warning, if any, and returns the verdict; undefined
 * while etcd does not answer (the caller decides whether to wait).
 */
export async function startupAuthCheck(o: { endpoints: string[]; security: Pick<EtcdConfig, 'auth' | 'tls'>; insecureNoAuth: boolean; log: { warn(obj: object, msg: string): void }; timeoutMs?: number }): Promise<AuthVerdict | undefined> {
  const off = await probeAuthOff(o.endpoints, o.security.tls, o.timeoutMs);
  if (off === undefined) return undefined;
  const v = authVerdict({ endpoints: o.endpoints, authOff: off, insecureNoAuth: o.insecureNoAuth, credentials: !!o.security.auth });
  if (v.action === 'warn') o.log.warn({ endpoints: o.endpoints, authOff: off }, v.message);
  return v;
}

/** One of Kiwi's grants (crds/api/roles.ts) as etcd3 grants or revokes it. */
export function etcdPermission(g: Grant): IPermissionRequest {
  return g.prefix ? { permission: g.permission, range: Range.prefix(g.key) } : { permission: g.permission, key: g.key };
}

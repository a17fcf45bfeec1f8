// The one way every verb reaches etcd: resolve the endpoints, connect with short deadlines (a
// CLI must fail in seconds, not hang), hand out a Store, and close it all at the end so the
// process exits promptly. etcd3 (and gRPC under it) is imported here lazily, on first use, so
// that verbs which never touch etcd (explain, dev, --help) start without loading it.
import type { Etcd3 } from 'etcd3';
import { readFileSync } from 'node:fs';
import type { Store } from '../../../crds/api/store.js';
import { ForbiddenError, UnavailableError } from '../../../crds/api/errors.js';
import { resolveEndpoints, type EndpointFlags, type ResolvedEndpoints } from './endpoints.js';
import { credentialFileOf, resolveCredentials, type CredentialFlags, type ResolvedCredentials } from './credentials.js';
import { EtcdReader, rawValues, type Reader } from './reader.js';
import type { WireSecurity } from './wire.js';
import { userTokenCache } from './token-cache.js';
import { authVerdict, isLoopbackEndpoint } from '../../../crds/api/endpoints.js';

const warned = new Set<string>();
/** A warning on stderr, once per process (one kiwictl command). */
function warnOnce(msg: string): void {
  if (warned.has(msg)) return;
  warned.add(msg);
  process.stderr.write(`kiwictl: warning: ${msg}\n`);
}

export interface ClientOptions extends EndpointFlags, CredentialFlags {
  /** Deadline of one etcd call in ms (--request-timeout). */
  requestTimeoutMs?: number;
}

export class Client {
  private etcd?: Etcd3;
  private storeP?: Promise<Store>;
  private writerP?: Promise<Store>;
  private wire?: { close(): void };
  resolved?: ResolvedEndpoints;
  private creds?: ResolvedCredentials;

  constructor(private readonly opts: ClientOptions) {}

  /**
   * A reader for verbs that only read (get, describe): a small gRPC client that starts far
   * faster than etcd3 (see wire.ts), with the same etcd user and TLS files as the Store.
   * KIWI_READ_VIA=etcd3 reads through the Store instead.
   */
  async reader(): Promise<Reader> {
    if (process.env.KIWI_READ_VIA === 'etcd3') return this.store();
    const { endpoints, timeoutMs, security } = await this.wireSetup();
    return new EtcdReader(endpoints, timeoutMs, security);
  }

  /**
   * A reader that can also watch one object (watch.ts), over wire.ts; undefined when
   * KIWI_WRITE_VIA=etcd3 or KIWI_READ_VIA=etcd3 ask for etcd3 (then watch through the Store).
   */
  async watcher(): Promise<EtcdReader | undefined> {
    if (process.env.KIWI_WRITE_VIA === 'etcd3' || process.env.KIWI_READ_VIA === 'etcd3') return undefined;
    const { endpoints, timeoutMs, security } = await this.wireSetup();
    return new EtcdReader(endpoints, timeoutMs, security);
  }

  /** The Store over etcd3, connected on first use: for watches, leases and the dry run. */
  store(): Promise<Store> {
    this.storeP ??= this.open();
    return this.storeP;
  }

  /**
   * The Store over wire.ts instead of etcd3 (see wire-etcd.ts), for verbs that read and write
   * but never watch: the same writes, without etcd3's start-up cost. KIWI_WRITE_VIA=etcd3 (or
   * KIWI_READ_VIA=etcd3) gives the etcd3 Store instead.
   */
  writer(): Promise<Store> {
    if (process.env.KIWI_WRITE_VIA === 'etcd3' || process.env.KIWI_READ_VIA === 'etcd3') return this.store();
    this.writerP ??= this.openWriter();
    return this.writerP;
  }

  private async openWriter(): Promise<Store> {
    const { endpoints, timeoutMs, security } = await this.wireSetup();
    const [{ WireEtcd }, { Store }] = await Promise.all([import('./wire-etcd.js'), import('../../../crds/api/store.js')]);
    this.wire = new WireEtcd(endpoints, timeoutMs, security);
    return new Store(this.wire as unknown as Etcd3, { endpoints, retries: 0 });
  }

  /** Endpoints, deadline, etcd user (with the token cache) and TLS contents for wire.ts. */
  private async wireSetup(): Promise<{ endpoints: string[]; timeoutMs: number; security: WireSecurity }> {
    this.resolved ??= await resolveEndpoints(this.opts);
    const c = this.credentials();
    this.warnTransport(this.resolved.endpoints, c);
    const tls = c.tls && { ca: readFileSync(c.tls.caFile), ...(c.tls.certFile ? { cert: readFileSync(c.tls.certFile), key: readFileSync(c.tls.keyFile!) } : {}) };
    return { endpoints: this.resolved.endpoints, timeoutMs: this.opts.requestTimeoutMs ?? 2000, security: { ...(c.auth ? { auth: c.auth, tokenCache: userTokenCache() } : {}), ...(tls ? { tls } : {}) } };
  }

  /** The etcd user and TLS files (see credentials.ts), resolved once. */
  credentials(): ResolvedCredentials {
    if (!this.creds) {
      this.creds = resolveCredentials(this.opts);
      for (const w of this.creds.warnings) warnOnce(w);
    }
    return this.creds;
  }

  /** Says once per command what talking to these endpoints this way exposes (crds/api/endpoints.ts). */
  private warnTransport(endpoints: string[], c: ResolvedCredentials): void {
    const remote = endpoints.filter((e) => !isLoopbackEndpoint(e));
    if (!remote.length) return;
    if (!c.auth && !c.tls?.certFile) {
      warnOnce(`no etcd credentials for ${remote.join(',')}: if it answers, its authentication is off, and anyone who can reach it can rewrite calendars (the root node daemons then end other users' processes), make themselves admin, or lock everyone out (docs/security.md)`);
    } else if (c.auth) {
      const v = authVerdict({ endpoints, authOff: false, credentials: true });
      if (v.action !== 'ok') warnOnce(v.message);
    }
  }

  /** The etcd user this client authenticates as, if any. */
  etcdUser(): string | undefined {
    return this.creds?.auth?.username;
  }

  private async open(): Promise<Store> {
    this.resolved ??= await resolveEndpoints(this.opts);
    const c = this.credentials();
    this.warnTransport(this.resolved.endpoints, c);
    const [{ connect }, { Store }] = await Promise.all([import('../../../crds/api/etcd.js'), import('../../../crds/api/store.js')]);
    const timeout = this.opts.requestTimeoutMs ?? 2000;
    this.etcd = connect({
      endpoints: this.resolved.endpoints,
      callTimeoutMs: timeout,
      dialTimeoutMs: Math.min(timeout, 1500),
      ...(c.auth ? { auth: c.auth } : {}),
      ...(c.tls ? { tls: c.tls } : {}),
    });
    // gRPC sets the TLS server name even for an IP endpoint, and Node warns about it on every run
    if (c.tls || this.resolved.endpoints.some((e) => e.startsWith('https:'))) process.noDeprecation = true;
    // No retries: a CLI reports a dead etcd within one deadline (~2 s) and the user re-runs;
    // a retry would double the wait on an endpoint that does not answer.
    return new Store(this.etcd, { endpoints: this.resolved.endpoints, retries: 0 });
  }

  /** A refused write of a user whose write grants the operator revoked (operator/src/grants): says so, and why. */
  async explainRevoked(err: unknown): Promise<unknown> {
    const user = this.etcdUser();
    if (!(err instanceof ForbiddenError) || !user || !(this.etcd || this.wire) || !/permission denied by etcd/.test(err.message)) return err;
    try {
      const { keys } = await import('../../../crds/api/keys.js');
      const v = this.etcd ? await this.etcd.get(keys.revoked(user)).string() : ((await rawValues(await this.reader(), keys.revoked(user)))[0]?.value ?? null);
      if (v === null) return err;
      const what = err.message.replace(/: permission denied by etcd[\s\S]*$/, '');
      return new ForbiddenError(`${what}: refused by etcd: the operator revoked ${user}'s write grants: ${String(JSON.parse(v)?.reason ?? 'flooding')}`);
    } catch {
      return err;
    }
  }

  /** Rewrites "etcd did not answer" into one line that says where the address came from and what to do. */
  explain(err: unknown): unknown {
    const msg = err instanceof Error ? err.message : '';
    if (err instanceof ForbiddenError && /permission denied by etcd/.test(msg)) return new ForbiddenError(refusal(msg, this.etcdUser()));
    if (/user name is empty|authentication failed|invalid auth token|Unauthenticated/i.test(msg)) {
      const who = this.etcdUser();
      return new ForbiddenError(
        who
          ? `etcd refused the login of ${who} (from ${this.creds?.source}): wrong user or password; ask an admin for \`kiwictl admin add-user ${who}\``
          : `etcd requires a user and password and none was found: set --etcd-user/--etcd-password (KIWI_ETCD_USER/KIWI_ETCD_PASSWORD), --credentials FILE, or ask an admin for \`kiwictl admin add-user YOU\` (it writes ${credentialFileOf('YOU')})`,
      );
    }
    if (this.resolved && /gRPC status missing/.test(msg))
      return new UnavailableError(
        `etcd at ${this.resolved.endpoints.join(',')} (from ${this.resolved.source}) did not answer plain HTTP/2 gRPC: if it uses TLS, give https:// endpoints and --etcd-ca (KIWI_ETCD_CA)`,
      );
    if (err instanceof UnavailableError && this.resolved) {
      const where = `etcd at ${this.resolved.endpoints.join(',')} (from ${this.resolved.source})`;
      if (/bad certificate|certificate required|alert number 4[26]/i.test(msg))
        return new UnavailableError(`${where} refused the TLS handshake: it wants a client certificate it trusts; set --etcd-cert and --etcd-key (KIWI_ETCD_CERT, KIWI_ETCD_KEY)`);
      if (/verify the first certificate|self[- ]signed|unable to get (local )?issuer|certificate has expired|altnames|Hostname\/IP does not match/i.test(msg))
        return new UnavailableError(`${where}: its TLS certificate cannot be verified (${shortTls(msg)}); set --etcd-ca (KIWI_ETCD_CA) to the CA that signed it, and check the name or IP in it`);
      if (/wrong version number|packet length too long|http_request/i.test(msg))
        return new UnavailableError(`${where}: TLS on one side only; use https:// endpoints for an etcd with TLS, http:// for one without`);
    }
    if (!(err instanceof UnavailableError) || !this.resolved) return err;
    const cause = shortCause(err.message, this.opts.requestTimeoutMs ?? 2000);
    const where = this.resolved.endpoints.join(',');
    return new UnavailableError(
      `cannot reach etcd at ${where} (from ${this.resolved.source}): ${cause}. Start one with \`kiwictl dev up\`, or set --endpoints / KIWI_ENDPOINTS`,
    );
  }

  close(): void {
    this.etcd?.close();
    this.etcd = undefined;
    this.wire?.close();
    this.wire = undefined;
  }
}

/**
 * etcd's "permission denied" for what Store tried (e.g. "create Booking bob/x: permission denied
 * by etcd (...)"), said as the rule that was broken.
 */
export function refusal(msg: string, user: string | undefined): string {
  const who = user ?? 'you';
  const what = msg.replace(/: permission denied by etcd[\s\S]*$/, '');
  let m = /^(create|update|delete|apply) Booking ([^/\s]+)\/(\S+)/.exec(what);
  if (m) return `${what}: refused by etcd: ${who} may only write their own bookings (namespace ${user ?? 'of your user name'}); bookings of ${m[2]} are theirs or an admin's to change`;
  m = /^(create|update|delete|apply) (Node|ClusterConfig) (\S+)/.exec(what);
  if (m) return `${what}: refused by etcd: ${who} may not ${m[1] === 'delete' ? 'delete' : 'change'} ${m[2] === 'Node' ? 'nodes' : 'the cluster config'}; that is for admins (kiwictl admin add-user NAME --admin)`;
  if (/^update status of /.test(what)) return `${what}: refused by etcd: status is written by the operator and the node daemons only, not by ${who}`;
  if (/^(get|list|read)\b/.test(what)) return `${what}: refused by etcd: ${who} may not read this`;
  return `${what}: refused by etcd: ${who} is not allowed to do this`;
}

function shortTls(msg: string): string {
  return /(unable to verify the first certificate|self[- ]signed certificate[^.;]*|unable to get (?:local )?issuer certificate|certificate has expired|Hostname\/IP does not match[^.;]*)/i.exec(msg)?.[1] ?? 'verification failed';
}

/** gRPC's messages are long; the user needs the gist. */
function shortCause(msg: string, timeoutMs: number): string {
  if (/ECONNREFUSED/.test(msg)) return 'connection refused';
  if (/ECONNRESET|socket hang up/.test(msg)) return 'connection reset';
  if (/deadline|timed? ?out/i.test(msg)) return `no answer within ${timeoutMs} ms`;
  if (/ENOTFOUND|EAI_AGAIN/.test(msg)) return 'host name not found';
  if (/circuit/i.test(msg)) return 'it failed repeatedly';
  return (/\(([^)]*)\)/.exec(msg)?.[1] ?? msg).split('\n')[0];
}

// Who a request comes from. Users log in with what they already have: their Kiwi etcd user and
// password (kiwictl admin add-user). The server then writes as that user, with a client of
// their own, so etcd's role-based access decides every write, exactly as for kiwictl.
//
// Dev login (name only) exists for one case: every etcd endpoint is on loopback AND etcd runs
// without authentication (the quickstart's cluster). There etcd decides nothing for anybody:
// kiwictl on that machine can already book as any user, so a name-only login adds no power;
// the page labels it as such. Anywhere else dev login is refused at start-up.
//
// Sessions: a random id in an HttpOnly, SameSite=Strict cookie (browsers), or the same kind of
// id as a bearer token (scripts). Cookie requests that write must carry the session's CSRF token
// in X-CSRF-Token; bearer requests carry no ambient credential, so they need none.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Etcd3 } from 'etcd3';
import { connect, keys, Store, type EtcdConfig } from '../../crds/api/index.js';
import { HttpError } from './status.js';
import { cookies } from './http.js';

export type LoginMode = 'etcd' | 'dev';
export const SESSION_COOKIE = 'kiwi_session';
export const CSRF_HEADER = 'x-csrf-token';
const USER = /^[a-z_][a-z0-9_.-]*[$]?$/;

export interface Session {
  id: string;
  user: string;
  csrf: string;
  /** Writes go through this store: the user's own etcd client (dev mode: the server's). */
  store: Store;
  client?: Etcd3;
  via: 'cookie' | 'token';
  expires: number;
}

const isLoopback = (ep: string) => {
  const h = new URL(ep).hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
};

/**
 * Pure: which login the server offers. `wanted` is --login (auto, etcd, dev). Throws when dev is
 * asked for where it would be unsafe; `auto` picks dev only where it is safe.
 */
export function loginMode(endpoints: string[], authOn: boolean, wanted: 'auto' | 'etcd' | 'dev'): { mode: LoginMode; note: string } {
  const loopback = endpoints.every(isLoopback);
  const devOk = loopback && !authOn;
  if (wanted === 'dev' && !devOk)
    throw new Error(`--login dev: name-only login is allowed only when every etcd endpoint is on loopback and etcd authentication is off (${!loopback ? `not loopback: ${endpoints.filter((e) => !isLoopback(e)).join(', ')}` : 'etcd has authentication on'}); use --login etcd`);
  if (wanted === 'dev' || (wanted === 'auto' && devOk))
    return { mode: 'dev', note: 'dev login: etcd on loopback without authentication, so anyone on this machine may book as any user (as with kiwictl); log in by name only' };
  if (!authOn)
    return { mode: 'etcd', note: 'etcd has authentication off: no password can be checked, so nobody can log in (read-only); turn it on with kiwictl admin enable-auth' };
  return { mode: 'etcd', note: 'log in with your Kiwi etcd user and password (kiwictl admin add-user)' };
}

/** Does etcd ask for a user? An anonymous read is refused when authentication is on. */
export async function etcdAuthOn(store: Store): Promise<boolean> {
  try {
    await store.rawRange(keys.specPrefix('ClusterConfig'));
    return false;
  } catch (e) {
    if (/user name is empty|permission denied|invalid auth token|authentication/i.test((e as Error).message)) return true;
    throw e;
  }
}

export interface AuthOptions {
  mode: LoginMode;
  /** The server's own store (reads; dev-mode writes). */
  store: Store;
  etcd: Pick<EtcdConfig, 'endpoints' | 'tls'>;
  ttlMs?: number;
  authOn: boolean;
}

export class Sessions {
  private readonly byId = new Map<string, Session>();
  private readonly ttl: number;

  constructor(private readonly o: AuthOptions) {
    this.ttl = o.ttlMs ?? 12 * 3600_000;
  }

  /** Checks the user's credentials against etcd (etcd mode) and opens a session. */
  async login(user: unknown, password: unknown, via: Session['via']): Promise<Session> {
    if (typeof user !== 'string' || !user || user.length > 32 || !USER.test(user))
      throw new HttpError(400, 'BadRequest', `user: ${JSON.stringify(user)} is not a user name (lower-case letters, digits, "_", "-", ".")`);
    if (user === 'root') throw new HttpError(403, 'Forbidden', 'root cannot book nodes (root may always log in); log in as the user who books');
    let store = this.o.store;
    let client: Etcd3 | undefined;
    if (this.o.mode === 'etcd') {
      if (!this.o.authOn) throw new HttpError(403, 'Forbidden', 'etcd has authentication off, so this server cannot check a password and lets nobody log in; an admin can turn it on with kiwictl admin enable-auth');
      if (typeof password !== 'string' || !password) throw new HttpError(400, 'BadRequest', 'password: give your Kiwi etcd password (the one in your credential file from kiwictl admin add-user)');
      client = connect({ ...this.o.etcd, auth: { username: user, password }, callTimeoutMs: 5000 });
      store = new Store(client, { endpoints: this.o.etcd.endpoints, retries: 1 });
      try {
        await store.rawRange(keys.specPrefix('ClusterConfig'));
      } catch (e) {
        client.close();
        const msg = (e as Error).message;
        if (/authentication failed|invalid user|password/i.test(msg)) throw new HttpError(401, 'Unauthorized', `etcd refused the login of ${user}: wrong user or password`);
        throw e;
      }
    }
    if (this.byId.size >= 10_000) this.sweep(Date.now());
    const s: Session = { id: token(), user, csrf: token(), store, client, via, expires: Date.now() + this.ttl };
    this.byId.set(s.id, s);
    return s;
  }

  logout(s: Session): void {
    this.byId.delete(s.id);
    s.client?.close();
  }

  /** The session of a request (cookie or bearer token), or undefined. */
  of(req: IncomingMessage): Session | undefined {
    const h = req.headers.authorization;
    let id: string | undefined;
    let via: Session['via'] = 'cookie';
    if (h) {
      const m = /^Bearer\s+(\S+)$/i.exec(h);
      if (!m) throw new HttpError(401, 'Unauthorized', 'Authorization: use "Bearer TOKEN" (a token from POST /web/login with {"user", "password", "token": true})');
      id = m[1];
      via = 'token';
    } else id = cookies(req)[SESSION_COOKIE];
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s || s.via !== via) {
      if (via === 'token') throw new HttpError(401, 'Unauthorized', 'the token is unknown or has expired; log in again');
      return undefined;
    }
    if (s.expires < Date.now()) {
      this.logout(s);
      if (via === 'token') throw new HttpError(401, 'Unauthorized', 'the token has expired; log in again');
      return undefined;
    }
    s.expires = Date.now() + this.ttl;
    return s;
  }

  /** The session a write needs: logged in, and for cookies the CSRF token and a same-origin request. */
  forWrite(req: IncomingMessage): Session {
    const s = this.of(req);
    if (!s) throw new HttpError(401, 'Unauthorized', 'log in first: nothing can be written without a login');
    if (s.via === 'cookie') checkCsrf(req, s.csrf);
    return s;
  }

  private sweep(now: number): void {
    for (const s of this.byId.values()) if (s.expires < now) this.logout(s);
  }

  closeAll(): void {
    for (const s of this.byId.values()) this.logout(s);
  }
}

/** Same origin (when the browser says where it comes from) and the session's CSRF token. */
export function checkCsrf(req: IncomingMessage, csrf: string): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      /* refused below */
    }
    if (host !== req.headers.host) throw new HttpError(403, 'Forbidden', `cross-site request refused (Origin ${origin} is not this server)`);
  } else if (origin === 'null') throw new HttpError(403, 'Forbidden', 'cross-site request refused (Origin null)');
  const given = req.headers[CSRF_HEADER];
  if (typeof given !== 'string' || !safeEqual(given, csrf)) throw new HttpError(403, 'Forbidden', `missing or wrong ${CSRF_HEADER} header: reload the page (scripts: use a bearer token)`);
}

export function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  try {
    if (new URL(origin).host === req.headers.host) return;
  } catch {
    /* refused below */
  }
  throw new HttpError(403, 'Forbidden', `cross-site request refused (Origin ${origin} is not this server)`);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const token = () => randomBytes(32).toString('base64url');

export function sessionCookie(s: Session, secure: boolean): string {
  return `${SESSION_COOKIE}=${s.id}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
}
export function clearCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure ? '; Secure' : ''}`;
}

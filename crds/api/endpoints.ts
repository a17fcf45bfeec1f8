// Endpoint lists, parsed the same way by every program. A light module: kiwictl's fast read
// path imports it without loading the etcd client.
import { InvalidError } from './errors.js';

/**
 * A comma-separated endpoint list as every Kiwi program takes it: a bare host:port means
 * http://host:port; each must be a URL. `source` names where the list came from, for errors.
 */
export function parseEndpoints(list: string, source: string): string[] {
  const eps = list.split(',').map((s) => s.trim()).filter(Boolean).map((e) => (/^\w+:\/\//.test(e) ? e : `http://${e}`));
  if (eps.length === 0) throw new InvalidError(`${source}: no endpoint given (expected e.g. http://127.0.0.1:2379)`);
  for (const e of eps) {
    try {
      new URL(e);
    } catch {
      throw new InvalidError(`${source}: "${e}" is not an endpoint URL (expected e.g. http://127.0.0.1:2379)`);
    }
  }
  return eps;
}

/** Is the endpoint's host a loopback address (127.0.0.0/8, ::1, localhost)? Judged from the URL alone. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export type AuthVerdict = { action: 'ok' } | { action: 'warn' | 'refuse'; message: string };

/**
 * Secure by default: may a program run against an etcd whose authentication is off (or on)?
 * Without auth anyone who reaches etcd can rewrite a calendar (the root daemons then end other
 * users' processes), make themselves admin, or turn auth on and lock everyone out; so a
 * non-loopback etcd without auth is refused unless `--insecure-no-auth` says so (then a
 * warning). Credentials over plain http to a non-loopback host are a warning. Pure.
 */
export function authVerdict(o: { endpoints: string[]; authOff: boolean | undefined; insecureNoAuth?: boolean; credentials?: boolean }): AuthVerdict {
  const remote = o.endpoints.filter((e) => !isLoopbackEndpoint(e));
  if (o.authOff && remote.length) {
    const what = `etcd at ${remote.join(',')} has authentication off: anyone who can reach it can rewrite a node's calendar (the node daemons then end other users' processes as root), make themselves admin, or turn auth on and lock everyone out`;
    if (!o.insecureNoAuth) return { action: 'refuse', message: `${what}. Turn it on (kiwictl admin enable-auth, docs/security.md), or pass --insecure-no-auth (KIWI_INSECURE_NO_AUTH=1) to run anyway` };
    return { action: 'warn', message: `${what} (running anyway: --insecure-no-auth)` };
  }
  const plain = remote.filter((e) => e.startsWith('http:'));
  if (o.credentials && plain.length) return { action: 'warn', message: `the etcd password goes over plain http to ${plain.join(',')}: anyone on the path can read it; use https:// endpoints with --etcd-ca (docs/security.md, TLS)` };
  return { action: 'ok' };
}

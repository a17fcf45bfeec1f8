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

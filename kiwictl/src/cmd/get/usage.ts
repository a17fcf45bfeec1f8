// Usage records for `kiwictl get usagerecords`: they live under their own prefix, sorted by the
// time they are filed at (crds/api/keys.ts), not under /kiwi/spec/, so they are read here in one
// range (by the fast reader where it serves, else through the Store) and filtered like a list.
import type { UsageRecord } from '../../../../crds/api/types.js';
import { keys, prefixEnd } from '../../../../crds/api/keys.js';
import { matches, type Requirement } from '../../../../crds/api/selector.js';
import { EtcdReader, type Reader } from '../../client/reader.js';
import type { Store } from '../../../../crds/api/store.js';

/**
 * The records (of a namespace, a selector, names), or those filed in [from, to) when given (an
 * ISO time each: the keys sort by it, so a period is one range read, whatever else etcd holds).
 */
export async function listUsageRecords(reader: Reader, opts: { namespace?: string; selector?: Requirement[]; names?: string[]; from?: string; to?: string }): Promise<UsageRecord[]> {
  const start = opts.from !== undefined ? keys.usagePrefix() + opts.from : keys.usagePrefix();
  const end = opts.to !== undefined ? keys.usagePrefix() + opts.to : prefixEnd(keys.usagePrefix()).toString();
  const values = reader instanceof EtcdReader
    ? (await reader.ranges('list usagerecords', [{ key: start, end }]))[0].map((kv) => kv.value)
    : (await (reader as unknown as Store).etcd.getAll().inRange({ start, end }).exec()).kvs.map((kv) => kv.value.toString());
  const out: UsageRecord[] = [];
  for (const v of values) {
    let r: UsageRecord;
    try {
      r = JSON.parse(v);
    } catch {
      continue; // not a record: nothing to show
    }
    if (r?.kind !== 'UsageRecord' || typeof r.metadata !== 'object') continue;
    if (opts.namespace !== undefined && r.metadata.namespace !== opts.namespace) continue;
    if (opts.names?.length && !opts.names.includes(r.metadata.name!)) continue;
    if (opts.selector?.length && !matches(opts.selector, r.metadata.labels)) continue;
    out.push(r);
  }
  return out;
}

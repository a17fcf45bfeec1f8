// Is anybody keeping the state current? `get` and `info` show what the operator last wrote; when
// no operator leads, phases, planned starts and ends stop moving and nothing says so. This module
// reads the election key (/kiwi/election/operator) and says when no operator has led for longer
// than its lease. The one place that knows how leader liveness is stored: today the key lives
// under the leader's lease (absent = nobody leads); a value the leader refreshes (renewTime and
// leaseTtlSeconds, or the like) is read too, so a stale leader record counts as no leader.
import { keys } from '../../../crds/api/keys.js';
import type { Reader } from './reader.js';
import { rawValues } from './reader.js';

/** What the election key holds now: undefined when absent. */
export interface LeaderRecord {
  value?: string;
}

export async function readLeader(reader: Reader): Promise<LeaderRecord> {
  const [kv] = await rawValues(reader, keys.election());
  return { value: kv?.value };
}

const first = (o: any, names: string[]) => names.map((n) => o?.[n]).find((v) => v !== undefined);

/**
 * Pure: the warning to show, or undefined when an operator leads. `now` in ms.
 * A leader record that carries a refresh time older than its lease (the liveness-by-value
 * scheme) counts as no leader.
 */
export function stalenessHint(rec: LeaderRecord, now: number): string | undefined {
  const fix = '`kiwictl get` and `info` show the state as last written: phases, planned starts and ends are not being updated and new bookings wait unanswered. Start kiwi-operator, or check why it stopped (its logs, `systemctl status kiwi-operator`)';
  if (rec.value === undefined) return `warning: no kiwi-operator is leading (nobody holds ${keys.election()}); ${fix}`;
  let v: any;
  try {
    v = JSON.parse(rec.value);
  } catch {
    return undefined; // not ours to judge; the operator's own checks will speak
  }
  const renewed = Date.parse(String(first(v, ['renewTime', 'renewedAt', 'refreshedAt', 'heartbeatTime']) ?? ''));
  if (Number.isNaN(renewed)) return undefined; // held under a lease: present means alive
  const ttl = Number(first(v, ['leaseTtlSeconds', 'ttlSeconds', 'leaseDurationSeconds', 'ttl']) ?? 15);
  const ago = (now - renewed) / 1000;
  if (ago <= ttl) return undefined;
  return `warning: the kiwi-operator that last led${v.id ? ` (${v.id})` : ''} has not renewed its leadership for ${Math.round(ago)}s (its lease is ${ttl}s), and no other has taken over; ${fix}`;
}

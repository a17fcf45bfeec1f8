// The node heartbeat value (keys.heartbeat(node)), written by the node's daemon only (its etcd
// role is the one that may write the key) and read by the operator. Liveness is the value
// changing, not the key existing: the daemon rewrites it every TTL/3 and the operator calls the
// node NotReady when it has seen no change for ttlSeconds and one such period by its own clock. Pure.

/** The default TTL (kiwi-node-daemon --lease-ttl), used when a value names none. */
export const DEFAULT_HEARTBEAT_TTL_SECONDS = 3;
/** A node may ask for at most this much slack: a longer silence is NotReady whatever it says. */
export const MAX_HEARTBEAT_TTL_SECONDS = 300;

export interface HeartbeatValue {
  time: string;
  daemonVersion: string;
  /** How long the value may stay unchanged before the node is NotReady (the operator adds one beat period of slack). */
  ttlSeconds: number;
}

export function heartbeatValue(now: number, daemonVersion: string, ttlSeconds: number): HeartbeatValue {
  return { time: new Date(now).toISOString(), daemonVersion, ttlSeconds };
}

/** How often the writer rewrites the value: three times per TTL, so one lost write is no outage. */
export function heartbeatPeriodMs(ttlSeconds: number): number {
  return Math.max(100, (ttlSeconds * 1000) / 3);
}

/**
 * The TTL of the etcd lease the value is written under: a few heartbeat TTLs. Liveness is the
 * value changing (the operator's rule, by its own clock), so the lease only removes the key of a
 * daemon that is gone; as long as the heartbeat TTL itself, a lease whose keepalive stream was on
 * a member that stopped answering expired while the value was still being rewritten elsewhere
 * (a paused raft leader: bench/heartbeat-pause.ts, the fault suite).
 */
export function heartbeatLeaseTtlSeconds(ttlSeconds: number): number {
  return 3 * ttlSeconds;
}

/**
 * Beats a writer keeps in flight at once: each beat goes on its own, so one stuck on a member
 * that stopped answering does not hold up the next; a bound, so an etcd that answers nothing
 * does not gather them.
 */
export const MAX_BEATS_IN_FLIGHT = 3;

/** The TTL a stored value asks for, in ms; anything unreadable or out of range gets the default. */
export function heartbeatTtlMs(raw: Buffer | string | undefined): number {
  let ttl: unknown;
  try {
    ttl = JSON.parse(String(raw ?? ''))?.ttlSeconds;
  } catch {
    ttl = undefined;
  }
  const ok = typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 1 && ttl <= MAX_HEARTBEAT_TTL_SECONDS;
  return (ok ? (ttl as number) : DEFAULT_HEARTBEAT_TTL_SECONDS) * 1000;
}

// Admission beyond the schema: rules a booking must pass when it arrives (or its spec
// changes). Each rule is named; a refusal says which rule and why. Pure.
import type { Booking, EffectiveConfig } from '../../../crds/api/pure.js';
import { parseDuration, formatDuration } from '../../../crds/api/pure.js';
import { protectedUser, type UserLookup } from '../../../crds/api/users.js';

/** Grace for a fixed start that is a moment in the past (clock skew, a slow apply). */
export const START_GRACE_MS = 5_000;

export interface Timing {
  /** ms */
  durationMs: number;
  /** A fixed start (reservation), epoch ms. */
  start?: number;
  /** A fixed end, epoch ms. */
  end?: number;
}

/** The booking's timing from its spec, or the reason it has none. */
export function timingOf(b: Booking, config: EffectiveConfig, now: number): Timing | string {
  const s = b.spec;
  const start = s.start !== undefined ? Date.parse(s.start) : undefined;
  const end = s.end !== undefined ? Date.parse(s.end) : undefined;
  if (start !== undefined && Number.isNaN(start)) return `spec.start ${JSON.stringify(s.start)} is not an RFC 3339 time`;
  if (end !== undefined && Number.isNaN(end)) return `spec.end ${JSON.stringify(s.end)} is not an RFC 3339 time`;
  let durationMs: number;
  if (end !== undefined && start !== undefined) {
    if (end <= start) return `spec.end ${s.end} is not after spec.start ${s.start}`;
    durationMs = end - start;
  } else if (end !== undefined) {
    // "until end", starting when admitted
    durationMs = end - now;
    if (durationMs <= 0) return `spec.end ${s.end} is in the past`;
  } else {
    try {
      durationMs = parseDuration(s.duration ?? config.defaultDuration) * 1000;
    } catch (e) {
      return `spec.duration: ${(e as Error).message}`;
    }
  }
  return { durationMs, start, end };
}

export interface AdmissionRule {
  name: string;
  check(b: Booking, t: Timing, ctx: { now: number; config: EffectiveConfig; users?: UserLookup }): string;
}

/**
/**
 * The user a booking is for: its namespace, from its etcd key (crds/api/decode.ts), never spec.user
 * (which validateObject refuses unless it says the same, so a mismatch is Rejected before these rules).
 */
export const userOf = (b: Booking): string => b.metadata.namespace!;

/**
 * The user database's two rules (crds/api/users.ts): protected users (root, below minUid,
 * nobody, sshBypassUsers) never book, and a name that is not one user (duplicate entries, a
 * shared uid) may not book. A name the operator's host does not know is judged by name only.
 */
export const BookableUser: AdmissionRule = {
  name: 'BookableUser',
  check: (b, _t, { config, users }) => {
    const name = userOf(b);
    const u = users?.(name);
    const p = protectedUser(name, u?.uid, config);
    if (p) return `user ${name} may not book nodes: ${p.message}`;
    return u?.ambiguous ? `user ${name} may not book nodes: ${u.ambiguous}` : '';
  },
};

export const MaxDuration: AdmissionRule = {
  name: 'MaxDuration',
  check: (_b, t, { config }) =>
    t.durationMs > config.maxDuration * 1000
      ? `duration ${formatDuration(t.durationMs / 1000)} is longer than the cluster's maxDuration ${formatDuration(config.maxDuration)}`
      : '',
};

export const StartNotInPast: AdmissionRule = {
  name: 'StartNotInPast',
  check: (b, t, { now }) => (t.start !== undefined && t.start < now - START_GRACE_MS ? `spec.start ${b.spec.start} is in the past` : ''),
};

export const EndInFuture: AdmissionRule = {
  name: 'EndInFuture',
  check: (b, t, { now }) => (t.end !== undefined && t.end <= now ? `spec.end ${b.spec.end} is in the past` : ''),
};

export const ADMISSION_RULES: AdmissionRule[] = [BookableUser, StartNotInPast, EndInFuture, MaxDuration];

export function admit(b: Booking, t: Timing, ctx: Parameters<AdmissionRule['check']>[2], rules = ADMISSION_RULES): string {
  for (const r of rules) {
    const why = r.check(b, t, ctx);
    if (why) return why;
  }
  return '';
}

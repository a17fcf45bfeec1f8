// The ClusterConfig in force: the stored object's spec with every default filled in.
// Pure, so that the operator, the daemon and kiwictl agree on the same values.
import type { ClusterConfig } from './types.js';

export interface EffectiveConfig {
  admins: string[];
  sshBypassUsers: string[];
  minUid: number;
  defaultDuration: number;
  maxDuration: number;
  killWaitSeconds: number;
  pamFailMode: 'closed' | 'open';
  warnBefore: number[];
  clockSkewSeconds: number;
  /** Per user (namespace): bookings and bytes of booking values held. */
  userLimits: { bookings: number; bytes: number };
}

export const DEFAULT_CONFIG: EffectiveConfig = {
  admins: [],
  sshBypassUsers: [],
  minUid: 1000,
  defaultDuration: 3600,
  maxDuration: 7 * 86400,
  killWaitSeconds: 10,
  pamFailMode: 'closed',
  warnBefore: [600, 60],
  clockSkewSeconds: 2,
  userLimits: { bookings: 1000, bytes: 10 * 1024 * 1024 },
};

export const CLUSTER_CONFIG_NAME = 'default';

export function effectiveConfig(cc: ClusterConfig | undefined): EffectiveConfig {
  const s = cc?.spec ?? {};
  const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
  return {
    admins: s.admins ?? DEFAULT_CONFIG.admins,
    sshBypassUsers: s.sshBypassUsers ?? DEFAULT_CONFIG.sshBypassUsers,
    minUid: s.minUid ?? DEFAULT_CONFIG.minUid,
    defaultDuration: num(s.defaultDuration, DEFAULT_CONFIG.defaultDuration),
    maxDuration: num(s.maxDuration, DEFAULT_CONFIG.maxDuration),
    killWaitSeconds: s.killWaitSeconds ?? DEFAULT_CONFIG.killWaitSeconds,
    pamFailMode: s.pamFailMode ?? DEFAULT_CONFIG.pamFailMode,
    warnBefore: s.warnBefore ?? DEFAULT_CONFIG.warnBefore,
    clockSkewSeconds: s.clockSkewSeconds ?? DEFAULT_CONFIG.clockSkewSeconds,
    userLimits: { bookings: s.userLimits?.bookings ?? DEFAULT_CONFIG.userLimits.bookings, bytes: s.userLimits?.bytes ?? DEFAULT_CONFIG.userLimits.bytes },
  };
}

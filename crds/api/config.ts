// The ClusterConfig in force: the stored object's spec with every default filled in.
// Pure, so that the operator, the daemon and kiwictl agree on the same values.
import type { ClusterConfig } from './types.js';
import type { Rates } from './ledger.js';

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
  /** spec.healing: seconds a node may be NotReady before its bookings are healed. */
  healing: { gracePeriod: number };
  /** spec.idleRelease: the default for bookings that do not say, and its thresholds (seconds, percent of a CPU). */
  idleRelease: IdlePolicy & { enabled: boolean };
  /** Service units per node-hour (accounting); absent: every node costs 1. */
  rates?: Rates;
}

/** When a user counts as idle on a node, and how long before the end they are warned (seconds). */
export interface IdlePolicy {
  after: number;
  warnBefore: number;
  cpuPercent: number;
}

/** spec.retention with its defaults: seconds, and whether the operator compacts etcd. */
export interface Retention {
  expiredBookings: number;
  events: number;
  usageRecords: number;
  compactEtcd: boolean;
  etcdHistory: number;
}

/** The duration fields of spec.retention (validation turns text into seconds). */
export const RETENTION_DURATIONS = ['expiredBookings', 'events', 'usageRecords', 'etcdHistory'] as const;

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
  healing: { gracePeriod: 120 },
  idleRelease: { enabled: false, after: 1800, warnBefore: 300, cpuPercent: 5 },
};

/**
 * A lab keeps a month of finished bookings to answer "what happened to my job?", a quarter of
 * events, and five years of usage for accounting; etcd keeps an hour of history.
 */
export const DEFAULT_RETENTION: Retention = { expiredBookings: 30 * 86400, events: 90 * 86400, usageRecords: 1826 * 86400, compactEtcd: true, etcdHistory: 3600 };

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
    healing: { gracePeriod: num(s.healing?.gracePeriod, DEFAULT_CONFIG.healing.gracePeriod) },
    idleRelease: {
      enabled: s.idleRelease?.enabled ?? DEFAULT_CONFIG.idleRelease.enabled,
      after: num(s.idleRelease?.after, DEFAULT_CONFIG.idleRelease.after),
      warnBefore: num(s.idleRelease?.warnBefore, DEFAULT_CONFIG.idleRelease.warnBefore),
      cpuPercent: num(s.idleRelease?.cpuPercent, DEFAULT_CONFIG.idleRelease.cpuPercent),
    },
    ...(s.rates ? { rates: s.rates } : {}),
  };
}

/** spec.retention in force, every default filled in; a value stored past validation falls back to its default. */
export function effectiveRetention(cc: ClusterConfig | undefined): Retention {
  const r = cc?.spec?.retention ?? {};
  const d = DEFAULT_RETENTION;
  const num = (v: unknown, dflt: number) => (typeof v === 'number' && v > 0 ? v : dflt);
  return {
    expiredBookings: num(r.expiredBookings, d.expiredBookings),
    events: num(r.events, d.events),
    usageRecords: num(r.usageRecords, d.usageRecords),
    compactEtcd: typeof r.compactEtcd === 'boolean' ? r.compactEtcd : d.compactEtcd,
    etcdHistory: num(r.etcdHistory, d.etcdHistory),
  };
}

// ClusterConfig spec.power with its defaults, and the checks the schema cannot say. Pure, so that
// the operator (which acts), kiwictl (which validates) and the bench agree on the same values.
import type { ClusterConfig } from './types.js';
import { parseSelector, type Requirement } from './selector.js';

/** Power saving in force: durations in seconds. */
export interface PowerSettings {
  enabled: boolean;
  idleTime: number;
  bootTime: number;
  resumeTimeout: number;
  /** Nodes per minute, each way. */
  suspendRate: number;
  resumeRate: number;
  /** Idle nodes kept on (warm), at least. */
  keepIdle: number;
  /** Nodes never powered off (an empty selector excludes none). */
  exclude: Requirement[];
  action: 'wakeOnLan' | 'commands';
  commands: { powerOff?: string[]; powerOn?: string[]; timeout: number };
}

/** The duration fields of spec.power (validation turns text into seconds). */
export const POWER_DURATIONS = [['idleTime'], ['bootTime'], ['resumeTimeout'], ['commands', 'timeout']] as const;

/**
 * A node idle half an hour is worth powering off; a server boots in a few minutes; Slurm's
 * rates (60 off, 300 on per minute) keep a power feed and the DHCP server from a stampede.
 */
export const DEFAULT_POWER: PowerSettings = {
  enabled: false, idleTime: 1800, bootTime: 300, resumeTimeout: 900, suspendRate: 60, resumeRate: 300, keepIdle: 0,
  exclude: [], action: 'wakeOnLan', commands: { timeout: 60 },
};

/** spec.power in force; a value stored past validation falls back to its default (power saving off when unusable). */
export function effectivePower(cc: ClusterConfig | undefined): PowerSettings {
  const p = cc?.spec?.power ?? {};
  const d = DEFAULT_POWER;
  const num = (v: unknown, dflt: number) => (typeof v === 'number' && v > 0 ? v : dflt);
  let exclude: Requirement[] = [];
  let enabled = p.enabled === true;
  try {
    exclude = parseSelector(p.excludeSelector ?? '');
  } catch {
    enabled = false; // a selector that does not parse could power off a node meant to stay on
  }
  const argv = (a: unknown) => (Array.isArray(a) && a.length && a.every((x) => typeof x === 'string') && a[0].startsWith('/') ? (a as string[]) : undefined);
  return {
    enabled, exclude,
    idleTime: num(p.idleTime, d.idleTime),
    bootTime: num(p.bootTime, d.bootTime),
    resumeTimeout: Math.max(num(p.resumeTimeout, d.resumeTimeout), num(p.bootTime, d.bootTime)),
    suspendRate: num(p.suspendRate, d.suspendRate),
    resumeRate: num(p.resumeRate, d.resumeRate),
    keepIdle: typeof p.keepIdle === 'number' && p.keepIdle >= 0 ? p.keepIdle : d.keepIdle,
    action: p.action === 'commands' ? 'commands' : 'wakeOnLan',
    commands: { powerOff: argv(p.commands?.powerOff), powerOn: argv(p.commands?.powerOn), timeout: num(p.commands?.timeout, d.commands.timeout) },
  };
}

/** What is wrong with a spec.power the schema accepted (each with its field path and the fix); [] when nothing. */
export function powerProblems(p: NonNullable<NonNullable<ClusterConfig['spec']>['power']> | undefined): string[] {
  if (!p) return [];
  const out: string[] = [];
  for (const f of ['powerOff', 'powerOn'] as const) {
    const a = p.commands?.[f];
    if (a && (a.length === 0 || !a[0].startsWith('/')))
      out.push(`spec.power.commands.${f}: the first item must be the command's absolute path (it is run without a shell, with the node's name and address as its last two arguments)`);
  }
  if (p.excludeSelector !== undefined) {
    try {
      parseSelector(p.excludeSelector);
    } catch (e) {
      out.push(`spec.power.excludeSelector: ${(e as Error).message}`);
    }
  }
  if (typeof p.resumeTimeout === 'number' && typeof p.bootTime === 'number' && p.resumeTimeout < p.bootTime)
    out.push(`spec.power.resumeTimeout: ${p.resumeTimeout}s is shorter than bootTime ${p.bootTime}s; every woken node would be NotReady before it could come up`);
  if (p.action === 'commands' && p.enabled && !p.commands?.powerOn)
    out.push('spec.power.commands.powerOn: required with action commands (or use action wakeOnLan)');
  return out;
}

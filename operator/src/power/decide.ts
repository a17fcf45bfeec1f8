// Power saving's decisions: pure functions of the nodes, their calendars, the settings and a
// time. The planner calls them (plan/phases/power.ts); act.ts does what they decide.
//
// The cycle: Ready -> PoweringOff (told to power off) -> Off (its heartbeat stopped) ->
// Resuming (told to power on) -> Ready (its heartbeat is back). A node off on purpose is no
// alarm; one woken that has not heartbeaten within resumeTimeout is NotReady. Kiwi knows each
// calendar ahead, so a node is woken bootTime before its next planned start, and a booking
// placed on a node that is off starts no earlier than it can be up (readyAt): the start shown
// stays exact.
import type { CalendarEntry, KiwiEvent, Node, NodeStatus } from '../../../crds/api/pure.js';
import { DRAIN_ANNOTATION, matches, setCondition, type PowerSettings } from '../../../crds/api/pure.js';

export type PowerCommand = 'off' | 'on';

/** One node as power saving sees it in a pass. */
export interface PowerNode {
  name: string;
  /** The status as the pass leaves it so far. */
  status: NodeStatus;
  heartbeat: boolean;
  labels?: Record<string, string>;
  /** An admin asked to drain it, or it is draining: left alone. */
  draining: boolean;
  /** There is a way to power it on (a MAC for wake-on-LAN, or a powerOn command). */
  canWake: boolean;
  /** There is a way to power it off (a powerOff command). */
  canPowerOff: boolean;
  /** Its calendar as planned by this pass, sorted by start. */
  entries: CalendarEntry[];
}

export interface PowerContext {
  settings: PowerSettings;
  now: number;
  /** When nodes were last told to power off / on, over the whole cluster, within the last minute (the rates). */
  recentOff: number[];
  recentOn: number[];
  /** Warm nodes (isWarm) over the whole cluster, when the pass sees only part of it; else counted from the nodes given. */
  warm?: number;
}

/** A node as power saving sees it, from the Node, its heartbeat and its calendar. */
export function powerNode(settings: PowerSettings, node: Node, heartbeat: boolean, entries: CalendarEntry[]): PowerNode {
  const st = node.status ?? {};
  return {
    name: node.metadata.name ?? '', status: st, heartbeat, labels: node.metadata.labels,
    draining: node.metadata.annotations?.[DRAIN_ANNOTATION] !== undefined || st.phase === 'Draining' || st.phase === 'Drained',
    canWake: settings.action === 'commands' ? !!settings.commands.powerOn : !!node.spec?.wakeOnLan?.mac,
    canPowerOff: !!settings.commands.powerOff || settings.action === 'wakeOnLan', // the daemon powers its machine off itself
    entries,
  };
}

/** Up (or coming up) with nothing holding it now, and power saving's to cycle: what keepIdle counts. */
export function isWarm(s: PowerSettings, n: PowerNode, now: number): boolean {
  if (n.status.phase === 'Resuming') return true;
  if (n.status.phase !== 'Ready' || !n.heartbeat || keepOnReason(s, n)) return false;
  return !n.entries.some((e) => e.start <= now && now < e.end);
}

export interface PowerDecision {
  name: string;
  /** The new status; undefined: unchanged. */
  status?: NodeStatus;
  command?: PowerCommand;
  event?: Pick<KiwiEvent, 'type' | 'reason' | 'message'>;
  /** When this node needs another look (epoch ms). */
  wakeAt?: number;
}

const MINUTE = 60_000;
const t = (iso: string | undefined) => (iso ? Date.parse(iso) : undefined);

/** The message of a power command that failed at or after `since` (act.ts writes the PowerAction condition). */
function failedSince(st: NodeStatus, since: number): string | undefined {
  const c = st.conditions?.find((x) => x.type === 'PowerAction');
  return c && c.status === 'False' && (t(c.lastTransitionTime) ?? 0) >= since - 1000 ? c.message ?? 'the command failed' : undefined;
}

/** The power phases: the node is (being) off on purpose. */
export const isPowerPhase = (p: NodeStatus['phase']) => p === 'PoweringOff' || p === 'Off' || p === 'Resuming';

/**
 * The earliest a booking can start on the node (epoch ms), or undefined when it is up. A node
 * going down is taken to need as long to power off as to boot: a time fixed by when it was told,
 * so that a booking planned on it keeps its start from pass to pass.
 */
export function readyAt(settings: PowerSettings, st: NodeStatus | undefined, now: number): number | undefined {
  const boot = settings.bootTime * 1000;
  switch (st?.phase) {
    case 'Off':
      return now + boot;
    case 'PoweringOff':
      return (t(st.power?.lastOffTime) ?? now) + 2 * boot;
    case 'Resuming':
      return Math.max(now, (t(st.power?.lastOnTime) ?? now) + boot);
    default:
      return undefined;
  }
}

/**
 * What the heartbeat says about a node in a power phase, before anything is planned: it went
 * down (Off), came up (Ready), or did not in time (NotReady, or Ready again after a power-off
 * that did not happen).
 */
export function observe(ctx: PowerContext, n: PowerNode): PowerDecision {
  const { now, settings } = ctx;
  const st = n.status;
  const timeout = settings.resumeTimeout * 1000;
  const up = (reason: string, message: string, type: KiwiEvent['type'] = 'Normal'): PowerDecision => {
    const next: NodeStatus = { ...st, phase: 'Ready', conditions: setCondition(st.conditions, { type: 'Ready', status: 'True', reason, message }, now) };
    delete next.message;
    return { name: n.name, status: next, event: { type, reason, message: `node ${n.name} is Ready: ${message}` } };
  };
  switch (st.phase) {
    case 'PoweringOff': {
      const since = t(st.power?.lastOffTime) ?? now;
      if (!n.heartbeat) {
        const why = 'powered off by power saving (no booking ahead)';
        const next: NodeStatus = { ...st, phase: 'Off', message: why, conditions: setCondition(st.conditions, { type: 'Ready', status: 'False', reason: 'PoweredOff', message: why }, now) };
        return { name: n.name, status: next, event: { type: 'Normal', reason: 'PoweredOff', message: `node ${n.name} is Off: ${why}` } };
      }
      const failed = failedSince(st, since);
      if (failed) return up('PowerOffFailed', `powering it off failed (${failed})`, 'Warning');
      if (now - since >= timeout) return up('PowerOffFailed', `it still heartbeats ${settings.resumeTimeout}s after it was told to power off (see its PowerAction condition)`, 'Warning');
      return { name: n.name, wakeAt: since + timeout };
    }
    case 'Off':
      return n.heartbeat ? up('PoweredOn', 'its daemon heartbeats again (powered on outside Kiwi)') : { name: n.name };
    case 'Resuming': {
      const since = t(st.power?.lastOnTime) ?? now;
      if (n.heartbeat) return up('Resumed', `woken by power saving, up ${Math.round((now - since) / 1000)}s after it was told to power on`);
      const failed = failedSince(st, since);
      if (!failed && now - since < timeout) return { name: n.name, wakeAt: since + timeout };
      const [reason, why] = failed ? ['PowerOnFailed', `powering it on failed (${failed})`] : ['ResumeTimeout', `woken by power saving ${settings.resumeTimeout}s ago and its daemon has not heartbeaten since (resumeTimeout)`];
      const next: NodeStatus = { ...st, phase: 'NotReady', message: why, conditions: setCondition(st.conditions, { type: 'Ready', status: 'False', reason, message: why }, now) };
      return { name: n.name, status: next, event: { type: 'Warning', reason, message: `node ${n.name} is NotReady: ${why}` } };
    }
    default:
      return { name: n.name };
  }
}

/** Why the node may not be off (a node that is off is woken at once), or ''. */
export function mustBeOnReason(s: PowerSettings, n: PowerNode): string {
  if (!s.enabled) return 'power saving is off';
  if (n.draining) return 'draining';
  if (s.exclude.length && matches(s.exclude, n.labels)) return 'excluded by spec.power.excludeSelector';
  return '';
}

/** Why power saving leaves a node that is up on, or '' when it may power it off. */
export function keepOnReason(s: PowerSettings, n: PowerNode): string {
  const must = mustBeOnReason(s, n);
  if (must) return must;
  if (!n.canPowerOff) return 'no powerOff command';
  if (!n.canWake) return 'no way to power it on (spec.wakeOnLan.mac, or commands.powerOn)';
  return '';
}

/**
 * Which nodes to power off and on now, within the rates. A Ready node is powered off once it
 * has been idle for idleTime and no entry begins within idleTime + bootTime; a node that is off
 * is woken bootTime before its next entry begins (at once when one has begun or begins sooner),
 * or at once when it may no longer be off (power saving turned off, excluded). The most urgent
 * wakes go first when the rate binds.
 */
export function decide(ctx: PowerContext, nodes: PowerNode[]): PowerDecision[] {
  const { now, settings } = ctx;
  const idle = settings.idleTime * 1000;
  const boot = settings.bootTime * 1000;
  const out: PowerDecision[] = [];
  const wakes: { n: PowerNode; due: number }[] = [];
  const offs: { n: PowerNode; idleSince: number }[] = [];
  const spare: PowerNode[] = [];
  for (const n of nodes) {
    const st = n.status;
    const next = n.entries.find((e) => e.end > now);
    if (st.phase === 'Off') {
      // May not be off: wake it now, even with nothing booked; else bootTime before its next start.
      const due = mustBeOnReason(settings, n) ? now : next ? next.start - boot : undefined;
      if (due === undefined) {
        spare.push(n);
        continue;
      }
      if (due <= now) wakes.push({ n, due });
      else out.push({ name: n.name, wakeAt: due });
      continue;
    }
    if (st.phase !== 'Ready' || !n.heartbeat || keepOnReason(settings, n)) continue;
    // The record of when the node last became idle (a pass sees every start and end of its calendar).
    const busy = next !== undefined && next.start <= now;
    const recorded = t(st.power?.idleSince);
    if (busy) {
      if (recorded !== undefined) out.push({ name: n.name, status: withPower(st, { idleSince: undefined }) });
      continue;
    }
    const idleSince = recorded ?? now;
    const upd = recorded === undefined ? withPower(st, { idleSince: new Date(now).toISOString() }) : undefined;
    if (next && next.start - now < idle + boot) {
      if (upd) out.push({ name: n.name, status: upd });
      continue;
    }
    if (now - idleSince < idle) {
      out.push({ name: n.name, status: upd, wakeAt: idleSince + idle });
      continue;
    }
    offs.push({ n, idleSince });
  }
  // Keep keepIdle idle nodes on: those idle the shortest stay (the longest idle go first); wake
  // spare ones (nothing booked) when fewer are warm.
  offs.sort((a, b) => a.idleSince - b.idleSince || (a.n.name < b.n.name ? -1 : 1));
  const warm = ctx.warm ?? nodes.filter((n) => isWarm(settings, n, now)).length;
  offs.splice(Math.max(0, warm - settings.keepIdle));
  const short = settings.enabled ? settings.keepIdle - (warm - offs.length) : 0;
  for (const n of spare.sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, Math.max(0, short))) wakes.push({ n, due: Infinity });
  wakes.sort((a, b) => a.due - b.due || (a.n.name < b.n.name ? -1 : 1));
  limit(wakes, ctx.recentOn, settings.resumeRate, now, out, ({ n }) => {
    const st = withPower(n.status, { lastOnTime: new Date(now).toISOString() });
    const next = n.entries.find((e) => e.end > now);
    const why = next ? `its next booking ${next.booking} starts ${new Date(next.start).toISOString()}` : mustBeOnReason(settings, n) ? `it may not be off (${mustBeOnReason(settings, n)})` : `fewer than keepIdle (${settings.keepIdle}) idle nodes are on`;
    out.push({ name: n.name, command: 'on', wakeAt: now + settings.resumeTimeout * 1000, status: { ...st, phase: 'Resuming', message: `powering on: ${why}` }, event: { type: 'Normal', reason: 'Resuming', message: `node ${n.name} is powering on: ${why}` } });
  });
  limit(offs, ctx.recentOff, settings.suspendRate, now, out, ({ n, idleSince }) => {
    const st = withPower(n.status, { lastOffTime: new Date(now).toISOString(), cycles: (n.status.power?.cycles ?? 0) + 1, idleSince: undefined });
    const why = `idle since ${new Date(idleSince).toISOString()} and no booking begins within ${settings.idleTime + settings.bootTime}s`;
    out.push({ name: n.name, command: 'off', wakeAt: now + settings.resumeTimeout * 1000, status: { ...st, phase: 'PoweringOff', message: `powering off: ${why}` }, event: { type: 'Normal', reason: 'PoweringOff', message: `node ${n.name} is powering off: ${why}` } });
  });
  return out;
}

/** Takes as many as the rate (per sliding minute) allows; the rest get a look when the window frees. */
function limit<T extends { n: PowerNode }>(items: T[], recent: number[], rate: number, now: number, out: PowerDecision[], take: (x: T) => void): void {
  const inWindow = recent.filter((x) => x > now - MINUTE && x <= now).sort((a, b) => a - b);
  const room = Math.max(0, rate - inWindow.length);
  items.slice(0, room).forEach(take);
  // The window frees when its oldest action leaves it (those taken now, when it held none).
  const freeAt = (inWindow[0] ?? now) + MINUTE;
  for (const x of items.slice(room)) out.push({ name: x.n.name, wakeAt: Math.max(freeAt, now + 1000) });
}

function withPower(st: NodeStatus, p: Partial<NonNullable<NodeStatus['power']>>): NodeStatus {
  const power: Record<string, unknown> = { ...st.power, ...p };
  for (const k of Object.keys(power)) if (power[k] === undefined) delete power[k];
  const out: NodeStatus = { ...st, power };
  if (!Object.keys(power).length) delete out.power;
  return out;
}

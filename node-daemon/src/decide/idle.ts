// Pure: is a booking's user still using this node? Samples of their activity here (CPU time of
// their processes, input on or logins to their terminals) folded into a track, and the track
// against the entry's idle policy and a time: active, idle (reported to the operator), warn (the
// user's terminals are told), end (idle for the whole `after`). The operator ends the booking only
// when every one of its nodes says idle long enough (operator/src/plan/phases/idle.ts); this
// decides for one node.
import type { CalendarEntry } from '../../../crds/api/pure.js';

export type IdlePolicy = NonNullable<CalendarEntry['idle']>;

/** One measurement of the user's activity on the node, at the daemon's clock. */
export interface ActivitySample {
  at: number;
  /** CPU time (ms) of the user's live processes, their reaped children's included. */
  cpuMs: number;
  /** The latest input on, or creation of (a login), a terminal of theirs; epoch ms. */
  lastInput?: number;
}

export interface IdleTrack {
  /** The previous sample. */
  last: ActivitySample;
  /** When the user was last seen active here. */
  lastActive: number;
  /** Why, in words (for logs). */
  why: string;
}

/**
 * Folds a sample in. Active: more CPU than policy.cpuPercent of one CPU since the previous
 * sample (CPU time that went down, processes having exited, counts as none), or terminal input
 * or a login after the last activity. The first sample starts the track as active then: what
 * happened before it (a daemon restart, the entry's start) is not known, so it never counts as idle.
 */
export function observeActivity(track: IdleTrack | undefined, s: ActivitySample, policy: IdlePolicy): IdleTrack {
  if (!track) return { last: s, lastActive: s.at, why: 'first sample' };
  let { lastActive, why } = track;
  const dt = s.at - track.last.at;
  const used = Math.max(0, s.cpuMs - track.last.cpuMs);
  if (dt > 0 && (used / dt) * 100 > policy.cpuPercent) {
    lastActive = s.at;
    why = `CPU ${((used / dt) * 100).toFixed(1)}% of one CPU`;
  }
  if (s.lastInput !== undefined && s.lastInput > lastActive) {
    lastActive = Math.min(s.lastInput, s.at);
    why = 'terminal input or a login';
  }
  return { last: s, lastActive, why };
}

export type IdleState = 'active' | 'idle' | 'warn' | 'end';

export interface IdleDecision {
  state: IdleState;
  /** The last activity, once the user counts as idle (the operator is told this). */
  idleSince?: number;
  /** When the warning is due, and when idle release would end the booking (if nothing happens meanwhile). */
  warnAt: number;
  endAt: number;
}

/**
 * How long without activity before the node reports the user idle: a quarter of `after`, at
 * most a minute, so that a pause between two commands is not a report (and a write) each time.
 */
export const reportAfterMs = (p: IdlePolicy) => Math.min(60_000, (p.after * 1000) / 4);

export function idleState(track: IdleTrack, policy: IdlePolicy, now: number): IdleDecision {
  const since = track.lastActive;
  const endAt = since + policy.after * 1000;
  const warnAt = endAt - Math.min(policy.warnBefore, policy.after) * 1000;
  const state: IdleState = now >= endAt ? 'end' : now >= warnAt ? 'warn' : now - since >= reportAfterMs(policy) ? 'idle' : 'active';
  return state === 'active' ? { state, warnAt, endAt } : { state, idleSince: since, warnAt, endAt };
}

/** The terminal warning of an idle booking (sent once per stretch of idleness: its key names idleSince). */
export function idleWarning(e: CalendarEntry, d: IdleDecision): { key: string; message: string } {
  return {
    key: `${e.uid}:idle:${d.idleSince}`,
    message: `Kiwi: booking ${e.booking} of ${e.user} has seen no activity of yours on this node since ${new Date(d.idleSince!).toISOString()}; it will be ended (reason Idle) at about ${new Date(d.endAt).toISOString()} if you stay idle on all its nodes. Use any of them (run something, type in a session) to keep it.`,
  };
}

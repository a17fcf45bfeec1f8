// The state file: the last local view plus what the daemon still owes (bookings not yet
// cleaned up after, warnings and signals already sent), so that a daemon restarted while etcd
// is unreachable still knows what ended while it was down. Written atomically (temp + rename).
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../../crds/api/atomic-file.js';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type EffectiveConfig } from '../../../crds/api/index.js';
import type { LocalView } from '../view.js';
import type { Tracked } from '../decide/kill.js';

export const STATE_FILE = 'state.json';

export interface DaemonState {
  version: 1;
  view: LocalView;
  /** Bookings seen and not yet cleaned up after (including ones gone from the calendar). */
  known: Tracked[];
  /** Keys of warnings and end signals already sent. */
  sent: string[];
  /** Cleanups finished (decide/kill.ts doneKey) of entries the calendar still lists. */
  done: string[];
  /** A failed cleanup that drained the node and is not yet recorded in etcd. */
  drain?: string;
  savedAt: number;
}

export function emptyState(node: string): DaemonState {
  return { version: 1, view: { node, entries: [], config: { ...DEFAULT_CONFIG }, syncedAt: 0 }, known: [], sent: [], done: [], savedAt: 0 };
}

export function statePath(dir: string): string {
  return join(dir, STATE_FILE);
}

/** Reads the state file; a missing, unreadable or other node's file gives an empty state. */
export function loadState(dir: string, node: string): { state: DaemonState; problem?: string } {
  let text: string;
  try {
    text = readFileSync(statePath(dir), 'utf8');
  } catch (e: any) {
    return { state: emptyState(node), ...(e?.code === 'ENOENT' ? {} : { problem: `cannot read ${statePath(dir)}: ${e?.message}` }) };
  }
  try {
    const s = JSON.parse(text) as DaemonState;
    if (s.version !== 1 || !s.view || !Array.isArray(s.known)) return { state: emptyState(node), problem: `${statePath(dir)} has an unknown format; starting from an empty view` };
    if (s.view.node !== node) return { state: emptyState(node), problem: `${statePath(dir)} belongs to node ${s.view.node}, not ${node}; ignoring it` };
    s.view.config = { ...DEFAULT_CONFIG, ...s.view.config } as EffectiveConfig;
    s.sent ??= [];
    s.done ??= [];
    return { state: s };
  } catch (e: any) {
    return { state: emptyState(node), problem: `${statePath(dir)} is not valid JSON (${e?.message}); starting from an empty view` };
  }
}

export function saveState(dir: string, state: DaemonState): void {
  writeFileAtomic(statePath(dir), JSON.stringify(state, null, 1), { mode: 0o644 });
}

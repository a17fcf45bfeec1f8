// The daemon's local view: everything it needs to decide who may log in and whom to clean
// up, kept in memory (and on disk for the PAM fallback), so that it keeps enforcing while
// etcd or the operator is unreachable.
import type { CalendarEntry, EffectiveConfig } from '../../crds/api/index.js';

export interface LocalView {
  node: string;
  /** This node's calendar entries, sorted by start, never overlapping. */
  entries: CalendarEntry[];
  config: EffectiveConfig;
  /** Epoch ms when the view was last confirmed against etcd (0: never). */
  syncedAt: number;
}

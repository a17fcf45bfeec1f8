// Pure: when the daemon powers its own machine off. With power saving's wakeOnLan action and no
// powerOff command, nothing outside the node can power it off, so the daemon does, once per
// decision (the operator's lastOffTime), and never while an entry of its calendar holds the node.
import type { CalendarEntry, NodeStatus, PowerSettings } from '../../../crds/api/pure.js';
import { isActive } from './kill.js';

/** The decision (lastOffTime) to act on now, or undefined. `done`: the last one acted on. */
export function selfPowerOffDue(st: NodeStatus | undefined, s: PowerSettings, entries: CalendarEntry[], now: number, done: string | undefined): string | undefined {
  if (st?.phase !== 'PoweringOff' || s.action !== 'wakeOnLan' || s.commands.powerOff) return undefined;
  const at = st.power?.lastOffTime;
  if (!at || at === done) return undefined;
  if (entries.some((e) => isActive(e, now))) return undefined;
  return at;
}

// Pure: what `ethtool IFACE` says about wake-on-LAN, and what to do about it. Network cards
// lose their wake-on-LAN setting at every boot on many machines; the daemon sets it back to
// "g" (magic packet) at every start, so that power saving can wake the node.
import type { Condition } from '../../../crds/api/pure.js';

export interface EthtoolWol {
  /** Modes the card supports (letters: p u m b a g s f), '' when it says none. */
  supports: string;
  /** Modes set now ('d': disabled). */
  wakeOn: string;
}

/** The "Supports Wake-on:" and "Wake-on:" lines of `ethtool IFACE`; undefined when the card reports neither. */
export function parseEthtool(out: string): EthtoolWol | undefined {
  const supports = /^\s*Supports Wake-on:\s*(\S*)\s*$/m.exec(out)?.[1];
  const wakeOn = /^\s*Wake-on:\s*(\S*)\s*$/m.exec(out)?.[1];
  if (supports === undefined && wakeOn === undefined) return undefined;
  return { supports: supports ?? '', wakeOn: wakeOn ?? 'd' };
}

export type WolStep = { set: false; condition: Omit<Condition, 'type' | 'lastTransitionTime'> } | { set: true };

/** Whether to run `ethtool -s IFACE wol g`, or the condition to report as it is. */
export function wolStep(iface: string, w: EthtoolWol | undefined): WolStep {
  if (!w || !w.supports.includes('g')) return { set: false, condition: { status: 'False', reason: 'NotSupported', message: `${iface} does not support wake-on-LAN by magic packet (ethtool: Supports Wake-on: ${w?.supports || 'nothing'}); power saving cannot wake this node by wake-on-LAN` } };
  if (w.wakeOn.includes('g')) return { set: false, condition: { status: 'True', reason: 'Enabled', message: `wake-on-LAN by magic packet is on for ${iface}` } };
  return { set: true };
}

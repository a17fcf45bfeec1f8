// Pure: `kiwictl wait --for=...`: what is waited for, and whether a booking's state meets it,
// does not yet, or never will (a booking's phases only go forward: Pending, Active, Expired).
import type { Booking } from '../../../../crds/api/types.js';
import { usage } from '../verb.js';

export type WaitFor =
  | { kind: 'phase'; phase: 'Pending' | 'Active' | 'Expired' }
  | { kind: 'delete' }
  | { kind: 'condition'; type: string; status: 'True' | 'False' | 'Unknown' };

const PHASES = ['Pending', 'Active', 'Expired'] as const;
const FORMS = 'phase=Pending|Active|Expired, condition=TYPE[=True|False], or delete';

export function parseFor(text: string | undefined): WaitFor {
  const t = (text ?? '').trim();
  if (!t) throw usage(`wait needs --for: ${FORMS}`);
  if (t === 'delete') return { kind: 'delete' };
  let m = /^phase=(\w+)$/i.exec(t);
  if (m) {
    const phase = PHASES.find((p) => p.toLowerCase() === m![1].toLowerCase());
    if (!phase) throw usage(`--for=${t}: a booking's phase is Pending, Active or Expired`);
    return { kind: 'phase', phase };
  }
  m = /^condition=([A-Za-z][A-Za-z0-9]*)(?:=(true|false|unknown))?$/i.exec(t);
  if (m) {
    const s = (m[2] ?? 'True').toLowerCase();
    return { kind: 'condition', type: m[1], status: s === 'true' ? 'True' : s === 'false' ? 'False' : 'Unknown' };
  }
  throw usage(`--for=${t}: not understood; use ${FORMS}`);
}

export function describeFor(f: WaitFor): string {
  return f.kind === 'phase' ? `phase ${f.phase}` : f.kind === 'delete' ? 'deletion' : `condition ${f.type}=${f.status}`;
}

export type Verdict = { met: true } | { met: false; never?: string };

const RANK = { Pending: 0, Active: 1, Expired: 2 } as const;

export function evaluate(f: WaitFor, b: Booking | undefined): Verdict {
  if (f.kind === 'delete') return b ? { met: false } : { met: true };
  if (!b) return { met: false, never: 'the booking was deleted' };
  const st = b.status ?? {};
  const why = () => `it is ${st.phase}${st.reason ? ` (${st.reason}${st.message ? `: ${st.message}` : ''})` : ''}`;
  if (f.kind === 'phase') {
    if (st.phase === f.phase) return { met: true };
    if (st.phase && RANK[st.phase] > RANK[f.phase]) return { met: false, never: `${why()}, and a booking never goes back to ${f.phase}` };
    return { met: false };
  }
  const c = st.conditions?.find((x) => x.type === f.type);
  if (c?.status === f.status) return { met: true };
  if (st.phase === 'Expired') return { met: false, never: `${why()}; its conditions no longer change` };
  return { met: false };
}

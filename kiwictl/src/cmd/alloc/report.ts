// Pure: what the booking verbs say about a booking. Where it waits and until when, how to log
// in, one live status line. Times are shown in the local zone ("14:05", "Nov 23 14:05").
import type { Booking, Node } from '../../../../crds/api/types.js';
import { heldBack, shortRemaining, shortTime } from '../../printers/format.js';

const ref = (b: Booking) => `${b.metadata.namespace}/${b.metadata.name}`;
const at = (iso: string | undefined, now: Date) => (iso ? shortTime(iso, now) : '?');
const left = (iso: string | undefined, now: Date) => (iso ? shortRemaining((Date.parse(iso) - now.getTime()) / 1000) : '?');

/** Has the operator answered the booking's current spec? */
export function answered(b: Booking | undefined): boolean {
  return Boolean(b?.status?.phase) && (b!.status!.observedGeneration ?? 0) >= (b!.metadata.generation ?? 1);
}

/** One line of what holds a Pending booking back: "alice/bk-2 (alice) on n1 until 14:05". */
export function waitingFor(b: Booking, now: Date, max = 3): string {
  const w = b.status?.waitingFor ?? [];
  if (!w.length) return '';
  const parts = w.slice(0, max).map((x) => `${x.booking}${x.user ? ` (${x.user})` : ''} on ${x.node}${x.until ? ` until ${at(x.until, now)}` : ''}`);
  return parts.join(', ') + (w.length > max ? ` and ${w.length - max} more` : '');
}

/** The live status line of wait, alloc --wait, run. */
export function statusLine(b: Booking | undefined, now: Date): string {
  if (!b) return 'deleted';
  const st = b.status;
  if (!st?.phase) return `${ref(b)}: waiting for the operator to plan it`;
  switch (st.phase) {
    case 'Active':
      return `${ref(b)}: Active on ${(st.nodes ?? []).join(',')} until ${at(st.endTime, now)} (${left(st.endTime, now)} left)`;
    case 'Pending': {
      if (!st.startTime) return `${ref(b)}: Pending, ${st.message ?? 'waiting'}`;
      const w = waitingFor(b, now);
      const held = heldBack(b);
      return `${ref(b)}: Pending, starts ${at(st.startTime, now)} (in ${left(st.startTime, now)})${w ? `, after ${w}` : ''}${held ? `, held back by ${held}` : ''}`;
    }
    default:
      return `${ref(b)}: Expired (${st.reason ?? 'unknown'})${st.message ? `: ${st.message}` : ''}`;
  }
}

/** `ssh USER@ADDRESS -p PORT` for each of the booking's nodes. */
export function loginCommands(b: Booking, nodes: Map<string, Node>): string[] {
  return (b.status?.nodes ?? b.spec.nodes ?? []).map((n) => {
    const node = nodes.get(n);
    const port = node?.spec?.sshPort ?? 22;
    return `ssh ${b.metadata.namespace}@${node?.spec?.address ?? n}${port !== 22 ? ` -p ${port}` : ''}`;
  });
}

export interface Report {
  text: string;
  /** Set when the cluster refused the booking: the reason, for the error. */
  refused?: string;
}

/** What alloc prints once the operator has answered: how to log in, or where it waits and until when. */
export function allocReport(b: Booking, nodes: Map<string, Node>, now: Date): Report {
  const st = b.status ?? {};
  const name = b.metadata.name;
  switch (st.phase) {
    case 'Active': {
      const lines = [`booking ${ref(b)} is Active on ${(st.nodes ?? []).join(', ')} until ${at(st.endTime, now)} (${left(st.endTime, now)} left)`, 'log in with:'];
      for (const c of loginCommands(b, nodes)) lines.push(`  ${c}`);
      lines.push(`end it early with: kiwictl kill ${name}`);
      return { text: lines.join('\n') + '\n' };
    }
    case 'Pending': {
      const lines: string[] = [];
      if (!st.startTime) {
        lines.push(`booking ${ref(b)} is Pending and has no planned start yet: ${(st.message ?? '').replace(/^waits: /, '')}`);
      } else if (st.reason === 'Scheduled' && b.spec.start) {
        lines.push(`booking ${ref(b)} is reserved: ${(st.nodes ?? []).join(', ')} from ${at(st.startTime, now)} (in ${left(st.startTime, now)}) until ${at(st.endTime, now)}`);
      } else {
        lines.push(`booking ${ref(b)} waits in line: planned start ${at(st.startTime, now)} (in ${left(st.startTime, now)}), until ${at(st.endTime, now)}, on ${(st.nodes ?? []).join(', ')}`);
        const w = waitingFor(b, now, 10);
        if (w) lines.push(`  after ${w}`);
        else if (st.message && !heldBack(b)) lines.push(`  ${st.message}`);
        const held = heldBack(b);
        if (held) lines.push(`  held back by ${held}`);
      }
      lines.push(`wait for it with: kiwictl wait ${name} --for=phase=Active`);
      return { text: lines.join('\n') + '\n' };
    }
    case 'Expired':
      return {
        text: '',
        refused: st.reason === 'Rejected' || st.reason === 'Busy'
          ? `booking ${ref(b)} was refused (${st.reason}): ${st.message ?? 'no reason given'}`
          : `booking ${ref(b)} already ended (${st.reason ?? 'Expired'})${st.message ? `: ${st.message}` : ''}`,
      };
    default:
      return { text: `booking ${ref(b)} created; the operator has not planned it yet (is kiwi-operator running?). See: kiwictl get booking ${name}\n` };
  }
}

/**
 * What the operator would do with a booking (a server-side dry run), in one line: when it would
 * start and after whom, or why it would be refused. `refused` is set for a refusal.
 */
export function dryRunReport(b: Booking, now: Date): Report {
  const st = b.status ?? {};
  const nodes = (st.nodes ?? []).join(', ');
  switch (st.phase) {
    case 'Active':
      return { text: `booking ${ref(b)} would start now on ${nodes}, until ${at(st.endTime, now)} (${left(st.endTime, now)}) (server dry run: nothing written)\n` };
    case 'Pending': {
      if (!st.startTime) return { text: `booking ${ref(b)} would wait with no planned start yet: ${st.message ?? ''} (server dry run: nothing written)\n` };
      const w = waitingFor(b, now, 10);
      return { text: `booking ${ref(b)} would start at ${at(st.startTime, now)} (in ${left(st.startTime, now)}) on ${nodes}, until ${at(st.endTime, now)}${w ? `, after ${w}` : ''} (server dry run: nothing written)\n` };
    }
    case 'Expired':
      return { text: '', refused: `booking ${ref(b)} would be refused (${st.reason ?? 'Expired'}): ${st.message ?? 'no reason given'} (server dry run: nothing written)` };
    default:
      return { text: `booking ${ref(b)}: the operator would not plan it yet (server dry run: nothing written)\n` };
  }
}


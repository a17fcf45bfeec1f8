// Pure: what `kiwictl describe pool` adds to the object: the pool's nodes, its limits in words,
// and who holds what against them now (per user: nodes held now, bookings held, waiting,
// node-hours booked ahead), from the Nodes and Bookings.
import type { Booking, Node, Pool } from '../../../../crds/api/types.js';
import { formatDuration } from '../../../../crds/api/duration.js';
import { inPool, poolFor } from '../../../../crds/api/pool.js';
import { renderTable } from '../../printers/table.js';
import { naturalCompare } from '../info/rows.js';

export function poolSummary(p: Pool, pools: Pool[], nodes: Node[], bookings: Booking[], now: number): string {
  const names = nodes.filter((n) => inPool(p, n.metadata.labels)).map((n) => n.metadata.name!).sort(naturalCompare);
  let out = `Nodes:              ${names.length ? `${names.join(', ')} (${names.length})` : '<none match the selector>'}\n`;
  out += `Limits:             ${limitsText(p) || '<none>'}\n`;
  const per = new Map<string, { now: number; held: number; waiting: number; ahead: number }>();
  for (const b of bookings) {
    const st = b.status;
    if (!st || st.phase === 'Expired' || poolFor(pools, b.spec?.pool)?.metadata.name !== p.metadata.name) continue;
    const u = per.get(b.metadata.namespace!) ?? { now: 0, held: 0, waiting: 0, ahead: 0 };
    const nn = st.nodes?.length ?? 0;
    const start = st.startTime ? Date.parse(st.startTime) : undefined;
    const end = st.endTime ? Date.parse(st.endTime) : undefined;
    if (st.phase === 'Pending') u.waiting++;
    if (start !== undefined && end !== undefined && end > now) {
      u.held++;
      if (start <= now) u.now += nn;
      u.ahead += (nn * (end - Math.max(start, now))) / 3_600_000;
    }
    per.set(b.metadata.namespace!, u);
  }
  out += 'Held now:\n';
  if (!per.size) return out + '  <nobody>\n';
  const rows = [...per].sort(([a], [b]) => naturalCompare(a, b)).map(([u, x]) => [u, String(x.now), String(x.held), String(x.waiting), (Math.round(x.ahead * 100) / 100).toString()]);
  return out + renderTable(['USER', 'NODES NOW', 'BOOKINGS HELD', 'WAITING', 'NODE-HOURS AHEAD'], rows).replace(/^(?=.)/gm, '  ');
}

/** The pool's limits in words: "maxDuration 4h; per user: 2 nodes, 3 waiting; weekdays 09:00-18:00: 1 node per user". */
export function limitsText(p: Pool): string {
  const l = p.spec?.limits ?? {};
  const parts: string[] = [];
  const d = (k: string, v: unknown) => v !== undefined && parts.push(`${k} ${formatDuration(Number(v))}`);
  d('maxDuration', l.maxDuration);
  d('defaultDuration', l.defaultDuration);
  if (l.maxNodes !== undefined) parts.push(`maxNodes ${l.maxNodes}`);
  d('maxStartAhead', l.maxStartAhead);
  d('extendWithin', l.extendWithin);
  d('maxExtend', l.maxExtend);
  const held = (who: string, h: typeof l.perUser) => {
    if (!h) return;
    const xs = [h.nodes !== undefined && `${h.nodes} nodes`, h.bookings !== undefined && `${h.bookings} bookings held`, h.waiting !== undefined && `${h.waiting} waiting`, h.nodeHours !== undefined && `${h.nodeHours} node-hours ahead`].filter(Boolean);
    if (xs.length) parts.push(`per ${who}: ${xs.join(', ')}`);
  };
  held('user', l.perUser);
  held('group', l.perGroup);
  for (const w of l.schedule ?? []) {
    const xs = [w.perUserNodes !== undefined && `${w.perUserNodes} nodes per user`, w.perGroupNodes !== undefined && `${w.perGroupNodes} nodes per group`].filter(Boolean);
    parts.push(`${w.days?.length ? `${w.days.join(',')} ` : ''}${w.start}-${w.end} ${p.spec?.timeZone ?? 'UTC'}: ${xs.join(', ')}`);
  }
  return parts.join('; ');
}

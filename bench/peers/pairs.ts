// The Kiwi/Slurm pairs of the report (npm run bench -- --peers slurm): which Kiwi figure is put
// next to which Slurm figure. Slurm's come from bench/peers/slurm.ts (bench.sh's metric names),
// Kiwi's from the bench modules named here; both from the same run.
import type { Figure } from '../record.js';

export interface Pair {
  what: string;
  slurm: { label: string; figure: string };
  kiwi: { label: string; bench: string; figure: string };
}

/** The p50 and the p99 row of a pair. */
const pq = (p: Pair): Pair[] =>
  [50, 99].map((q) => ({ what: `${p.what} p${q}`, slurm: { ...p.slurm, figure: `${p.slurm.figure} p${q}` }, kiwi: { ...p.kiwi, figure: `${p.kiwi.figure} p${q}` } }));

export const PAIRS: Pair[] = [
  ...pq({ what: 'booking granted', slurm: { label: "salloc --exclusive: submit to 'Granted'", figure: 'book.salloc.granted' }, kiwi: { label: 'kiwictl alloc -w NODE --wait: start to Active (whole process)', bench: 'kiwictl-peer', figure: 'kiwictl alloc -w NODE --wait (start to Active)' } }),
  ...pq({ what: 'booking granted', slurm: { label: "salloc --exclusive: submit to 'Granted'", figure: 'book.salloc.granted' }, kiwi: { label: 'apply to Active, in process (operator bench)', bench: 'operator', figure: 'apply-to-Active' } }),
  ...pq({ what: 'one reservation', slurm: { label: 'scontrol create reservation (each)', figure: 'resv.create.latency' }, kiwi: { label: 'kiwictl apply of a fixed-start booking (each)', bench: 'kiwictl-peer', figure: 'kiwictl apply, fixed-start booking (each, 1 client)' } }),
  { what: 'reservations per second, 1 client', slurm: { label: 'scontrol create reservation', figure: 'resv.create.sequential' }, kiwi: { label: 'kiwictl apply, until the operator decided all', bench: 'kiwictl-peer', figure: 'fixed-start bookings applied and decided per second, 1 client' } },
  { what: 'reservations per second, 8 clients', slurm: { label: 'scontrol create reservation', figure: 'resv.create.parallel8' }, kiwi: { label: 'kiwictl apply, until the operator decided all', bench: 'kiwictl-peer', figure: 'fixed-start bookings applied and decided per second, 8 clients' } },
  ...pq({ what: 'end of time limit to first SIGTERM', slurm: { label: 'time limit to SIGTERM', figure: 'e2c.limit_to_sigterm' }, kiwi: { label: 'booking end to SIGTERM (real daemon)', bench: 'end-to-clean', figure: 'booking end to first SIGTERM' } }),
  ...pq({ what: 'end of time limit to last process gone', slurm: { label: 'time limit to process gone (KillWait 2, effective 5 s)', figure: 'e2c.limit_to_gone' }, kiwi: { label: 'booking end to last process gone (killWaitSeconds 5, a process that ignores SIGTERM)', bench: 'end-to-clean', figure: 'booking end to last process gone' } }),
  ...pq({ what: 'PAM, user with a booking', slurm: { label: 'pam_slurm_adopt, user with job (linuxproc: no real adoption)', figure: 'pam.adopt.user_with_job' }, kiwi: { label: 'pam_kiwi.so, booked user (asks the daemon)', bench: 'pam', figure: 'PAM account check' } }),
  ...pq({ what: 'PAM, user without a booking', slurm: { label: 'pam_slurm_adopt, user without job', figure: 'pam.adopt.user_without_job' }, kiwi: { label: 'pam_kiwi.so, refused user (asks the daemon)', bench: 'pam', figure: 'PAM account check' } }),
  ...pq({ what: 'PAM floor', slurm: { label: 'pam_exec /bin/true (Slurm run)', figure: 'pam.exec_true' }, kiwi: { label: 'pam_exec /bin/true (Kiwi run)', bench: 'pam', figure: 'PAM account check' } }),
  ...pq({ what: 'node list', slurm: { label: 'sinfo', figure: 'list.sinfo' }, kiwi: { label: 'kiwictl info', bench: 'kiwictl-peer', figure: 'kiwictl info (1 node)' } }),
  ...pq({ what: 'queue, empty', slurm: { label: 'squeue', figure: 'list.squeue.empty' }, kiwi: { label: 'kiwictl get bookings -A', bench: 'kiwictl-peer', figure: 'kiwictl get bookings -A (no bookings)' } }),
  ...pq({ what: 'queue, 100 pending', slurm: { label: 'squeue', figure: 'list.squeue.100pending' }, kiwi: { label: 'kiwictl get bookings -A', bench: 'kiwictl-peer', figure: 'kiwictl get bookings -A (100 Pending)' } }),
];

/** Kiwi figures whose names do not end in " pNN" the way pq() builds them; a figure may carry its
 * setting after the name in parentheses ("... p50 (killWaitSeconds 5)"). */
function kiwiValue(p: Pair, figures: Figure[]): number | undefined {
  const q = / (p\d+)$/.exec(p.what)?.[1];
  const f = p.kiwi.bench === 'pam'
    ? figures.find((x) => x.bench === 'pam' && x.figure.startsWith(`PAM account check ${q}:`) && x.figure.includes(p.what.includes('without') ? 'refused user' : 'booked user'))
    : p.kiwi.bench === 'operator'
      ? figures.find((x) => x.bench === 'operator' && x.figure === `apply-to-Active ${q}, idle cluster`)
      : figures.find((x) => x.bench === p.kiwi.bench && (x.figure === p.kiwi.figure || x.figure.startsWith(`${p.kiwi.figure} (`)));
  if (p.what.startsWith('PAM floor')) return figures.find((x) => x.bench === 'pam' && x.figure.startsWith(`PAM account check ${q}:`))?.peerValue;
  return f?.value;
}

/** The pairs as a markdown table; a missing figure (a bench that failed) shows as "-". */
export function pairsTable(figures: Figure[]): string {
  const fmt = (n: number | undefined, unit: string) => (n === undefined || !Number.isFinite(n) ? '-' : `${n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)} ${unit}`);
  let md = '| pair | Slurm 22.05 | Slurm | Kiwi | Kiwi | Kiwi/Slurm |\n| --- | --- | --- | --- | --- | --- |\n';
  for (const p of PAIRS) {
    const s = figures.find((x) => x.bench === 'slurm' && x.figure === p.slurm.figure);
    const k = kiwiValue(p, figures);
    const unit = s?.unit ?? (p.what.includes('per second') ? '/s' : 'ms');
    const ratio = s && k !== undefined && s.value ? `${(k / s.value).toFixed(2)}x` : '-';
    md += `| ${p.what} | ${p.slurm.label} | ${fmt(s?.value, unit)} | ${p.kiwi.label} | ${fmt(k, unit)} | ${ratio} |\n`;
  }
  return md;
}

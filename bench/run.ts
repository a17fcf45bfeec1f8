// `npm run bench`: runs every benchmark under bench/ one after another (they share 2 cores,
// so never in parallel), then writes bench/results/report.md and report.json: each figure
// next to the peer or floor measured in the same run, the ratio, and the goal.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Figure } from './record.js';
import { pairsTable } from './peers/pairs.js';

// --peers slurm adds the Slurm peer (bench/peers/slurm.ts) and Kiwi's side of its pairs.
const argv = process.argv.slice(2);
const peersAt = argv.indexOf('--peers');
const peers = peersAt >= 0 ? (argv.splice(peersAt, 2)[1] ?? '').split(',').filter(Boolean) : [];
for (const p of peers) if (p !== 'slurm') throw new Error(`--peers ${p}: the only peer is slurm`);
const SLURM_BENCHES = ['kiwictl-peer.ts', 'end-to-clean.ts', 'peers/slurm.ts'];
const BENCHES = ['cli-startup.ts', 'get-nodes.ts', 'apply-dry-run.ts', 'operator.ts', 'before-after.ts', 'operator-failover.ts', 'cleanup.ts', 'pam.ts', 'scale.ts', 'scale-count.ts', 'course-crunch.ts', 'power.ts', 'etcd-failover.ts', 'heartbeat-pause.ts', 'fault.ts', 'web.ts', 'soak.ts', 'flood.ts', 'systemd.ts', 'accounting.ts', ...(peers.includes('slurm') ? SLURM_BENCHES : [])];
const only = argv;
const out = join('bench', 'results');
mkdirSync(out, { recursive: true });
const figuresFile = join(out, 'figures.jsonl');
const selected = BENCHES.filter((b) => only.length === 0 || only.some((o) => b.startsWith(o)));
// With a selection (npm run bench -- pam), the other benches' figures stay as the last report
// has them (report.json is committed; figures.jsonl is only this run's scratch file).
const reportJson = join(out, 'report.json');
const rerun = (bench: string) => selected.some((s) => s.replace(/^.*\//, '') === `${bench}.ts`);
const kept: string[] = only.length && existsSync(reportJson)
  ? (JSON.parse(readFileSync(reportJson, 'utf8')).figures as Figure[]).filter((f) => !rerun(f.bench)).map((f) => JSON.stringify(f))
  : [];
rmSync(figuresFile, { force: true });
if (kept.length) writeFileSync(figuresFile, kept.join('\n') + '\n');

type Run = { bench: string; status: number | null; seconds: number };
// Likewise their rows in the table of runs.
const keptRuns: Run[] = only.length && existsSync(reportJson)
  ? (JSON.parse(readFileSync(reportJson, 'utf8')).runs as Run[]).filter((r) => !selected.includes(r.bench))
  : [];
const runs: Run[] = [];
for (const b of selected) {
  console.error(`\n== bench/${b}`);
  const t0 = Date.now();
  // KIWI_BENCH_LOCK=FILE holds that flock for each Kiwi bench alone (they use the machine's test
  // users, PAM services and etcd ports), so a long run does not keep other users of it out.
  const lock = process.env.KIWI_BENCH_LOCK && !b.startsWith('peers/') ? ['flock', process.env.KIWI_BENCH_LOCK] : [];
  const cmd = [...lock, 'npx', 'tsx', join('bench', b)];
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env: { ...process.env, KIWI_BENCH_OUT: figuresFile } });
  runs.push({ bench: b, status: r.status, seconds: (Date.now() - t0) / 1000 });
}

const figures: Figure[] = existsSync(figuresFile)
  ? readFileSync(figuresFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
  : [];
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`;
const when = new Date().toISOString();
const fmt = (n: number | null) => (n === null || !Number.isFinite(n) ? '-' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
let md = `# Kiwi benchmark report\n\n${when}, on ${machine}. Every figure is next to its peer or floor measured in the same run; compare ratios, not absolute figures, across machines.\n\n`;
md += '| bench | figure | value | peer or floor (same run) | peer | ratio | goal |\n| --- | --- | --- | --- | --- | --- | --- |\n';
// Figures without a peer of their own (Slurm's, and Kiwi's side of a Slurm pair) are in the pairs table.
for (const f of figures.filter((x) => x.peerValue !== null && Number.isFinite(x.peerValue))) {
  const ratio = f.peerValue ? f.value / f.peerValue : NaN;
  md += `| ${f.bench} | ${f.figure} | ${fmt(f.value)} ${f.unit} | ${f.peer} | ${fmt(f.peerValue)} ${f.unit} | ${Number.isFinite(ratio) ? ratio.toFixed(2) + 'x' : '-'} | ${f.goal ? `${f.goal}: ${f.met ? 'met' : 'MISSED'}` : '-'} |\n`;
}
if (figures.some((f) => f.bench === 'slurm'))
  md += `\n## Kiwi next to Slurm (same run)\n\nSlurm 22.05 on this machine, single node on loopback, via /work/shared/peers/slurm (its README says what each figure means). Kiwi's kiwictl processes run with NODE_EXTRA_CA_CERTS unset. p50 and p99 are nearest-rank on both sides.\n\n${pairsTable(figures)}`;
const allRuns = [...keptRuns, ...runs].sort((a, b) => BENCHES.indexOf(a.bench) - BENCHES.indexOf(b.bench));
md += '\n| bench | exit | seconds |\n| --- | --- | --- |\n' + allRuns.map((r) => `| ${r.bench} | ${r.status} | ${r.seconds.toFixed(0)} |`).join('\n') + '\n';
writeFileSync(join(out, 'report.md'), md);
writeFileSync(join(out, 'report.json'), JSON.stringify({ when, machine, figures, runs: allRuns }, null, 2) + '\n');
console.error(`\nwrote ${join(out, 'report.md')} and report.json`);
process.exit(runs.every((r) => r.status === 0) ? 0 : 1);

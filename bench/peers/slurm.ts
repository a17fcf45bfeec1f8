// The Slurm peer, measured in the same run as Kiwi (npm run bench -- --peers slurm): runs the
// shared scripts in /work/shared/peers/slurm (KIWI_SLURM_PEER overrides the path): setup.sh
// (installs Slurm 22.05 if missing, starts munged, slurmctld, slurmd on loopback), bench.sh
// (its raw samples go to a temp dir), and always stop.sh at the end, also on failure or Ctrl-C.
// Each sample series becomes a figure (p50 and p99 with bench/stats.ts, so Slurm's and Kiwi's
// percentiles mean the same); bench/run.ts pairs them with Kiwi's (bench/peers/pairs.ts).
//
//   npx tsx bench/peers/slurm.ts        (root; ~12 min, most of it the time-limit runs)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pct } from '../stats.js';
import { record } from '../record.js';

const DIR = process.env.KIWI_SLURM_PEER ?? '/work/shared/peers/slurm';

function script(name: string, env: NodeJS.ProcessEnv = {}): void {
  console.error(`-- ${join(DIR, name)}`);
  // run from a temp cwd: the scripts are read-only where they live and write nothing beside themselves
  const r = spawnSync('bash', [join(DIR, name)], { cwd: tmpdir(), stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${name} exited ${r.status ?? r.signal}`);
}

function stop(): void {
  try {
    script('stop.sh');
  } catch (e) {
    console.error(`stop.sh: ${(e as Error).message}`);
  }
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('the Slurm peer runs as root (its daemons, users and PAM services)');
  for (const s of ['setup.sh', 'bench.sh', 'stop.sh']) if (!existsSync(join(DIR, s))) throw new Error(`${join(DIR, s)} missing: set KIWI_SLURM_PEER to the folder with the Slurm peer scripts`);
  const out = mkdtempSync(join(tmpdir(), 'kiwi-slurm-peer-'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (stop(), process.exit(130)));
  try {
    script('setup.sh');
    // 3 time-limit runs (bench.sh's default is 4, each up to ~95 s): the run stays under ~10 min
    script('bench.sh', { KP_BENCH_OUT: out, KP_N_E2C: process.env.KP_N_E2C ?? '3' });
    const samples = new Map<string, number[]>();
    for (const line of readFileSync(join(out, 'raw.tsv'), 'utf8').split('\n').filter(Boolean)) {
      const [metric, us] = line.split('\t');
      if (!samples.has(metric)) samples.set(metric, []);
      samples.get(metric)!.push(Number(us) / 1000);
    }
    for (const [metric, xs] of samples)
      for (const q of [50, 99]) record({ bench: 'slurm', figure: `${metric} p${q}`, value: pct(xs, q), unit: 'ms', peer: '-', peerValue: NaN });
    for (const line of readFileSync(join(out, 'rates.tsv'), 'utf8').split('\n').filter(Boolean)) {
      const [metric, value, unit] = line.split('\t');
      record({ bench: 'slurm', figure: metric, value: Number(value), unit: '/s', peer: unit, peerValue: NaN });
    }
    console.log(readFileSync(join(out, 'table.txt'), 'utf8'));
  } finally {
    stop();
    rmSync(out, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  console.error(e);
  process.exit(1);
}

// Cleanup latency of the real kiwi-node-daemon: from a booking's end to the last of its user's
// processes gone, p50 and p99, for 1 and for 200 processes. Real etcd, real daemon process, a
// real test user (kiwitest-bench), real sleep processes (they end on SIGTERM, so this measures
// the signal path, not killWaitSeconds). Two measures per run: what this process observes by
// polling /proc every 2 ms, and what the daemon logs (afterEndMs of "cleaned up").
//
//   npx tsx bench/cleanup.ts [--runs-1 N] [--runs-200 N] [--no-cgroups]
import { startEtcd } from '../test/helpers/etcd.js';
import { pct } from './stats.js';
import { waitFor } from '../test/helpers/wait.js';
import { ensureUser } from '../test/helpers/users.js';
import { killAllOf, livePids, manySleepers, sleeper, stopAll } from '../test/helpers/procs.js';
import { entry, putCalendar, putConfig, removeDir, startDaemon, tempStateDir } from '../test/e2e/daemon/harness.js';
import { record } from './record.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};


async function main() {
  const etcd = await startEtcd();
  const store = etcd.store();
  const user = ensureUser('bench');
  const stateDir = tempStateDir();
  await putConfig(store, { killWaitSeconds: 1, warnBefore: [] });
  const daemon = await startDaemon({ endpoint: etcd.endpoint, node: 'bench-node', stateDir, extra: process.argv.includes('--no-cgroups') ? ['--no-cgroups'] : [] });
  const results: { procs: number; runs: number; observed: number[]; daemon: number[] }[] = [];
  try {
    await waitFor(async () => (await store.get({ kind: 'Node', name: 'bench-node' }))?.status?.daemonVersion, { what: 'daemon registered' });
    for (const [procs, runs] of [[1, arg('--runs-1', 20)], [200, arg('--runs-200', 10)]] as const) {
      const observed: number[] = [];
      const reported: number[] = [];
      for (let i = 0; i < runs; i++) {
        const p = procs === 1 ? sleeper(user) : manySleepers(user, procs - 1); // bash + 199 sleeps
        try {
          await waitFor(() => livePids(user).length >= procs, { what: `${procs} processes up`, timeoutMs: 20_000 });
          const before = daemon.records().filter((r) => r.msg === 'cleaned up').length;
          const end = Date.now() + 800;
          await putCalendar(store, 'bench-node', [entry(user.name, Date.now() - 1000, end)]);
          await waitFor(() => Date.now() >= end - 5, { timeoutMs: 5000, intervalMs: 1 });
          await waitFor(() => livePids(user).length === 0, { what: 'all gone', timeoutMs: 30_000, intervalMs: 2 });
          observed.push(Date.now() - end);
          const rec = await waitFor(() => daemon.records().filter((r) => r.msg === 'cleaned up')[before], { what: 'cleanup logged' });
          reported.push(rec.afterEndMs);
        } finally {
          await stopAll([p]);
          await killAllOf(user);
        }
      }
      results.push({ procs, runs, observed, daemon: reported });
    }
  } finally {
    await daemon.stop();
    await killAllOf(user);
    await etcd.stop();
    removeDir(stateDir);
  }
  console.log(`cleanup latency: booking end -> last process of the user gone (ms)${process.argv.includes('--no-cgroups') ? ', without cgroups' : ''}`);
  console.log('procs  runs  observed p50  observed p99  daemon p50  daemon p99');
  for (const r of results) {
    console.log(
      `${String(r.procs).padStart(5)}  ${String(r.runs).padStart(4)}  ${String(pct(r.observed, 50)).padStart(12)}  ${String(pct(r.observed, 99)).padStart(12)}  ${String(pct(r.daemon, 50)).padStart(10)}  ${String(pct(r.daemon, 99)).padStart(10)}`,
    );
    for (const q of [50, 99])
      record({ bench: 'cleanup', figure: `end to last process gone p${q}, ${r.procs} process(es)`, value: pct(r.observed, q), unit: 'ms', peer: `the daemon's own measure of its sweep p${q}`, peerValue: pct(r.daemon, q) });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

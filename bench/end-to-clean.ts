// Kiwi's side of Slurm's "end-to-clean" pair: from the end of a booking (Slurm: a job's time
// limit) to the first SIGTERM its process gets, and to its last process gone, through the real
// kiwi-node-daemon (real etcd, real test user kiwitest-bench). The process traps SIGTERM and
// keeps running, as Slurm's peer script does, so "gone" is SIGTERM + killWaitSeconds + SIGKILL;
// killWaitSeconds is 5, Slurm's effective grace (slurmd waits MAX(KillWait, 5) s).
//
//   npx tsx bench/end-to-clean.ts [--runs N]     (root: the daemon kills by uid)
import { startEtcd } from '../test/helpers/etcd.js';
import { pct } from './stats.js';
import { waitFor } from '../test/helpers/wait.js';
import { ensureUser } from '../test/helpers/users.js';
import { killAllOf, livePids, spawnAs, stopAll } from '../test/helpers/procs.js';
import { entry, putCalendar, putConfig, removeDir, startDaemon, tempStateDir } from '../test/e2e/daemon/harness.js';
import { record } from './record.js';

const i = process.argv.indexOf('--runs');
const RUNS = i >= 0 ? Number(process.argv[i + 1]) : 4;
const KILL_WAIT_S = 5;

async function main() {
  const etcd = await startEtcd();
  const store = etcd.store();
  const user = ensureUser('bench');
  const stateDir = tempStateDir();
  await putConfig(store, { killWaitSeconds: KILL_WAIT_S, warnBefore: [] });
  const daemon = await startDaemon({ endpoint: etcd.endpoint, node: 'bench-node', stateDir });
  const toTerm: number[] = [];
  const toGone: number[] = [];
  try {
    await waitFor(async () => (await store.get({ kind: 'Node', name: 'bench-node' }))?.status?.daemonVersion, { what: 'daemon registered' });
    for (let r = 0; r < RUNS; r++) {
      // Each run on a clean node: the previous run's cleanup finished (its "cleaned up" line).
      await waitFor(() => daemon.records().filter((l) => l.msg === 'cleaned up').length >= r, { what: `the cleanup of run ${r - 1} to finish`, timeoutMs: 60_000 });
      // The booking first, then its process (a process of a user without a booking is the
      // daemon's to end at once, which is not what this measures); the booking's end is set
      // once the process is up, so a slow start on a busy machine cannot eat into it.
      const booked = entry(user.name, Date.now() - 1000, Date.now() + 3_600_000);
      await putCalendar(store, 'bench-node', [booked]);
      // prints the wall clock (µs) when SIGTERM arrives, and keeps running: only SIGKILL ends it
      const p = spawnAs(user, ['bash', '-c', 'trap \'echo "${EPOCHREALTIME/./}"\' TERM; echo up; while :; do sleep 1 & wait $!; done'], { stdout: 'pipe' });
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      try {
        await waitFor(() => out.includes('up'), { what: 'trap set', timeoutMs: 10_000 });
        const end = Date.now() + 1000;
        await putCalendar(store, 'bench-node', [{ ...booked, end }]);
        if (Date.now() > end - 200) throw new Error(`run ${r}: writing the booking's end took until ${end - Date.now()} ms before it`);
        await waitFor(() => Date.now() >= end - 5, { timeoutMs: 5000, intervalMs: 1 });
        await waitFor(() => livePids(user).length === 0, { what: 'all gone', timeoutMs: 60_000, intervalMs: 2 });
        toGone.push(Date.now() - end);
        const term = /^(\d{16})$/m.exec(out);
        if (!term) throw new Error(`run ${r}: the process never saw SIGTERM (it printed ${JSON.stringify(out)})`);
        toTerm.push(Number(term[1]) / 1000 - end);
      } catch (e) {
        console.error(daemon.logs.slice(-40).join('\n')); // what the daemon did, for the error below
        throw e;
      } finally {
        await stopAll([p]);
        await killAllOf(user);
      }
    }
  } finally {
    await daemon.stop();
    await killAllOf(user);
    await etcd.stop();
    removeDir(stateDir);
  }
  console.log(`end-to-clean, ${RUNS} runs, killWaitSeconds ${KILL_WAIT_S} (ms): end -> SIGTERM p50 ${pct(toTerm, 50).toFixed(1)} max ${Math.max(...toTerm).toFixed(1)}; end -> gone p50 ${pct(toGone, 50).toFixed(0)} max ${Math.max(...toGone).toFixed(0)}`);
  for (const q of [50, 99]) {
    record({ bench: 'end-to-clean', figure: `booking end to first SIGTERM p${q}`, value: pct(toTerm, q), unit: 'ms', peer: '-', peerValue: NaN });
    record({ bench: 'end-to-clean', figure: `booking end to last process gone p${q} (killWaitSeconds ${KILL_WAIT_S})`, value: pct(toGone, q), unit: 'ms', peer: '-', peerValue: NaN });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

// Kiwi's side of the Slurm peer's command-line pairs (bench/peers/slurm.ts), each a whole
// kiwictl process timed as Slurm's bench.sh times salloc, scontrol, squeue and sinfo, against a
// real etcd and the real operator, one node "vm" as in Slurm's single-node peer:
//   listing:      kiwictl info, kiwictl get bookings -A (empty; 100 Pending)   vs sinfo, squeue
//   booking:      kiwictl alloc -w vm --wait, start to Active                   vs salloc -> Granted
//   reservations: kiwictl apply of fixed-start bookings, 1 and 8 clients, until the operator
//                 has decided every one                                        vs scontrol create reservation
// NODE_EXTRA_CA_CERTS is unset for every kiwictl (Slurm's tools pay nothing like it; see
// bench/cli-startup.ts). Run: npx tsx bench/kiwictl-peer.ts [--n-resv 200] [--n 20]
import { spawn } from 'node:child_process';
import { median, pct, pool } from './stats.js';
import { record } from './record.js';
import { timeProcess } from './time-process.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { waitFor } from '../test/helpers/wait.js';
import { ensureUser } from '../test/helpers/users.js';
import { ensureBuilt, KIWICTL, ROOT } from '../test/integration/kiwictl/cli.js';
import { startOperator, mkBooking, mkNode } from '../test/integration/operator/helpers.js';
import { answered } from '../kiwictl/src/cmd/alloc/report.js';

const opt = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const N = opt('n', 20);
const N_RESV = opt('n-resv', 200);
const PAR = 8;
const NS = ensureUser('bench').name; // root books for a real user (kiwictl refuses root)

/** One kiwictl process, asynchronously (for the parallel clients). */
function run(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(KIWICTL, args, { cwd: ROOT, env, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kiwictl ${args.join(' ')} exited ${code}: ${err}`))));
    p.stdin.end(input ?? '');
  });
}

const fixedStart = (name: string, start: Date) =>
  `apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: ${name}, namespace: ${NS}}\nspec: {user: ${NS}, nodes: [vm], start: "${start.toISOString()}", duration: 60, queue: false}\n`;

await ensureBuilt();
const etcd = await startEtcd();
const op = startOperator(etcd.endpoint, { id: 'bench-peer', leaseTtl: 2, logLevel: 'warn' });
try {
  const store = etcd.store();
  await store.create(mkNode('vm'));
  const { NODE_EXTRA_CA_CERTS: _, ...base } = process.env;
  const env = { ...base, KIWI_ENDPOINTS: etcd.endpoint, KIWI_STATE_DIR: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', KIWI_DEV_STATE_DIR: '/nonexistent' };
  const times = (args: string[]) => Array.from({ length: N }, () => timeProcess(KIWICTL, args, env, { cwd: ROOT }).ms);
  const rec = (figure: string, xs: number[]) => {
    console.log(`${figure.padEnd(52)} p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms`);
    for (const q of [50, 99]) record({ bench: 'kiwictl-peer', figure: `${figure} p${q}`, value: pct(xs, q), unit: 'ms', peer: '-', peerValue: NaN });
  };

  // ---- listing (empty, then 100 Pending bookings queued behind one Active one)
  rec('kiwictl get bookings -A (no bookings)', times(['get', 'bookings', '-A']));
  rec('kiwictl info (1 node)', times(['info']));
  await pool(101, 8, (i) => store.create(mkBooking('held', `h${i}`, { user: 'held', nodes: ['vm'], duration: 3600, queue: true })));
  const phases = async () => {
    const n: Record<string, number> = {};
    for (const b of await store.list('Booking', { namespace: 'held' })) n[b.status?.phase ?? 'none'] = (n[b.status?.phase ?? 'none'] ?? 0) + 1;
    return n;
  };
  await waitFor(async () => (await phases()).Pending === 100 || Promise.reject(new Error(JSON.stringify(await phases()))), { what: '1 Active and 100 Pending', timeoutMs: 60_000 });
  rec('kiwictl get bookings -A (100 Pending)', times(['get', 'bookings', '-A']));
  for (const b of await store.list('Booking', { namespace: 'held' })) await store.delete({ kind: 'Booking', namespace: 'held', name: b.metadata.name! });
  // each alloc books a node of its own, free from the start (Slurm's loop waits for its one node to be idle)
  await pool(2 * N, 8, (i) => store.create(mkNode(`a${i}`)));

  // ---- booking: alloc --wait on a free node; interleaved with the same alloc through etcd3
  // (create and watch as before kiwictl/src/client/watch.ts), so both see the same machine
  const alloc: number[] = [];
  const allocViaEtcd3: number[] = [];
  const allocArgs = (i: number) => ['alloc', '-u', NS, '-w', `a${i}`, '-t', '1m', '--name', `a${i}`, '--wait', '-o', 'name'];
  for (let i = 0; i < N; i++) {
    alloc.push(timeProcess(KIWICTL, allocArgs(2 * i), env, { cwd: ROOT }).ms);
    allocViaEtcd3.push(timeProcess(KIWICTL, allocArgs(2 * i + 1), { ...env, KIWI_WRITE_VIA: 'etcd3' }, { cwd: ROOT }).ms);
  }
  rec('kiwictl alloc -w NODE --wait (start to Active)', alloc);
  rec('kiwictl alloc -w NODE --wait, through etcd3 (KIWI_WRITE_VIA=etcd3)', allocViaEtcd3);

  // ---- reservations: fixed-start bookings tomorrow, 2 min apart (Slurm's slots), 1 then 8 clients
  const t0 = Math.ceil(Date.now() / 60_000) * 60_000 + 86_400_000;
  const rate = async (prefix: string, from: number, clients: number) => {
    const each: number[] = [];
    const t = performance.now();
    await pool(N_RESV, clients, async (i) => {
      const a = performance.now();
      await run(['apply', '-f', '-'], env, fixedStart(`${prefix}${i}`, new Date(t0 + (from + i) * 120_000)));
      each.push(performance.now() - a);
    });
    const applied = performance.now();
    await waitFor(async () => (await store.list('Booking', { namespace: NS })).filter((b) => b.metadata.name!.startsWith(prefix) && answered(b)).length === N_RESV, { what: `${prefix}* decided`, timeoutMs: 120_000, intervalMs: 5 });
    const decided = performance.now();
    const perS = N_RESV / ((decided - t) / 1000);
    console.log(`${clients} client(s): ${N_RESV} applies in ${((applied - t) / 1000).toFixed(1)} s, all decided after ${((decided - t) / 1000).toFixed(1)} s: ${perS.toFixed(1)}/s; each apply p50 ${median(each).toFixed(1)} ms`);
    return { perS, each };
  };
  const one = await rate('s', 0, 1);
  const eight = await rate('p', N_RESV, PAR);
  rec('kiwictl apply, fixed-start booking (each, 1 client)', one.each);
  // the same apply through etcd3 (the path before kiwictl/src/client/wire-etcd.ts), side by side
  const viaEtcd3: number[] = [];
  for (let i = 0; i < N; i++) {
    const a = performance.now();
    await run(['apply', '-f', '-'], { ...env, KIWI_WRITE_VIA: 'etcd3' }, fixedStart(`x${i}`, new Date(t0 + (2 * N_RESV + i) * 120_000)));
    viaEtcd3.push(performance.now() - a);
  }
  rec('kiwictl apply, fixed-start booking, through etcd3 (KIWI_WRITE_VIA=etcd3)', viaEtcd3);
  record({ bench: 'kiwictl-peer', figure: 'fixed-start bookings applied and decided per second, 1 client', value: one.perS, unit: '/s', peer: '-', peerValue: NaN });
  record({ bench: 'kiwictl-peer', figure: `fixed-start bookings applied and decided per second, ${PAR} clients`, value: eight.perS, unit: '/s', peer: '-', peerValue: NaN });
  const refused = await store.list('Booking', { namespace: NS });
  const notOk = refused.filter((b) => /^[sp]\d/.test(b.metadata.name!) && b.status?.phase !== 'Pending' && b.status?.phase !== 'Active');
  if (notOk.length) console.log(`note: ${notOk.length} fixed-start bookings ended ${notOk[0].status?.phase} (${notOk[0].status?.reason ?? ''})`);
} finally {
  await op.stop();
  await etcd.stop();
}

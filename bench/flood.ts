// Bench: one user flooding their own prefix (/kiwi/spec/bookings/<user>/) as fast as they can
// (FLOODERS client processes, each logged in once and keeping 16 puts in flight, each put a
// booking for a node that does not exist, so the operator must refuse every one, and each goes on
// trying after a refusal; `etcdctl put` in a loop logs in per put and stored only 118 keys in 20 s
// with auth on), with etcd auth on as `kiwictl admin enable-auth` sets it up, and another user's
// apply-to-Active latency p50/p99 before the flood (the peer) and during it, through the real
// operator process. Twice: with the default ClusterConfig, where past 2x userLimits (1,000
// bookings) the operator revokes the flooder's write grants (operator/src/grants), and with
// userLimits too high to be reached (no revocation).
// Goal: during the flood, p99 stays under 10x the idle p99 (other users' bookings are not stopped).
// Run: npx tsx bench/flood.ts [seconds=20] [revoke|both=both] (revoke: only the run with the default limits)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pct } from './stats.js';
import { record } from './record.js';
const { startEtcd, stopProc } = await import('../test/helpers/etcd.js');
const { waitFor } = await import('../test/helpers/wait.js');
const { buildOperator, startOperator, mkBooking, mkNode } = await import('../test/integration/operator/helpers.js');
const { ensureBuilt, kiwictl } = await import('../test/integration/kiwictl/cli.js');
const { credentialPassword } = await import('../test/integration/security/helpers.js');
const { connect, keys, Store } = await import('../crds/api/index.js');

const SECONDS = Number(process.argv[2] ?? 20);
const MODES = process.argv[3] === 'revoke' ? [true] : [true, false];
const FLOODERS = 4;
const SAMPLES = 40;
const NODES = SAMPLES / 2 + SAMPLES;

interface Result {
  idle: number[];
  during: number[];
  /** The samples of `during` that began after the revocation. */
  afterRevoke: number[];
  written: number;
  refused: number;
  floodSeconds: number;
  revokedAfter?: number;
  /** The keys the operator had seen when it decided (its mark): how far its count lagged the flood. */
  seenAtRevoke?: number;
}

async function run(revoke: boolean): Promise<Result> {
  const etcd = await startEtcd();
  const credsDir = mkdtempSync(join(tmpdir(), 'kiwibench-creds-'));
  const env = { KIWI_ENDPOINTS: etcd.endpoint, KIWI_CREDENTIALS_DIR: credsDir };
  const names = Array.from({ length: NODES }, (_, i) => `node-${i}`);
  {
    const open = etcd.store();
    for (const n of names) await open.create(mkNode(n));
    if (!revoke) await open.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: { userLimits: { bookings: 1_000_000, bytes: 1 << 30 } } } as any);
  }
  for (const args of [['admin', 'enable-auth'], ['admin', 'add-user', 'victim'], ['admin', 'add-user', 'flood']]) {
    const r = await kiwictl(args, { env });
    if (r.code !== 0) throw new Error(`kiwictl ${args.join(' ')}: ${r.stderr}`);
  }
  const login = (user: string) => connect({ endpoints: [etcd.endpoint], callTimeoutMs: 30_000, auth: { username: user, password: credentialPassword(credsDir, user) } });
  const rootClient = login('root');
  const victimClient = login('victim');
  const store = new Store(victimClient, { endpoints: [etcd.endpoint] });
  const op = startOperator(etcd.endpoint, { id: 'bench-flood', leaseTtl: 2, logLevel: 'warn', env: { KIWI_ETCD_PASSWORD_FILE: join(credsDir, 'kiwi-operator.yaml') } });
  const flooders: ChildProcess[] = [];
  try {
    await waitFor(async () => (await rootClient.get(keys.election()).exec()).kvs.length > 0, { timeoutMs: 30_000, what: 'operator leading' });
    const activeAt = new Map<string, number>();
    let revokedAt = 0;
    const w = await rootClient.watch().prefix(keys.statusPrefix('Booking', 'victim')).create();
    w.on('put', (kv) => {
      if (JSON.parse(kv.value.toString()).phase === 'Active') activeAt.set(kv.key.toString().slice(keys.statusPrefix('Booking', 'victim').length), performance.now());
    });
    const rw = await rootClient.watch().key(keys.revoked('flood')).create();
    rw.on('put', () => (revokedAt ||= performance.now()));
    const began: number[] = [];
    const sample = async (label: string, offset: number, n: number): Promise<number[]> => {
      const lat: number[] = [];
      for (let i = 0; i < n; i++) {
        const name = `${label}${i}`;
        const t0 = performance.now();
        began.push(t0);
        await store.create(mkBooking('victim', name, { nodes: [names[offset + i]], duration: 3600 }));
        await waitFor(() => activeAt.has(name), { intervalMs: 1, timeoutMs: 60_000, what: `${name} Active` });
        lat.push(activeAt.get(name)! - t0);
      }
      return lat;
    };
    const idle = await sample('idle', 0, SAMPLES / 2);

    const pw = credentialPassword(credsDir, 'flood');
    const outs: Promise<string>[] = [];
    for (let f = 0; f < FLOODERS; f++) {
      const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'flood-writer.ts'), etcd.endpoint, 'flood', pw, keys.specPrefix('Booking', 'flood')], { stdio: ['ignore', 'pipe', 'ignore'] });
      flooders.push(p);
      outs.push(new Promise((r) => {
        let o = '';
        p.stdout!.on('data', (d) => (o += d));
        p.on('exit', () => r(o));
      }));
    }
    const floodStart = performance.now();
    await new Promise((r) => setTimeout(r, 2000)); // the flood is on
    const during = await sample('flood', SAMPLES / 2, SAMPLES); // twice as many: both sides of a revocation
    const left = SECONDS * 1000 - (performance.now() - floodStart);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    for (const p of flooders) p.kill('SIGTERM');
    const counts = (await Promise.all(outs)).map((o) => o.trim().split(' ').map(Number));
    const floodSeconds = (performance.now() - floodStart) / 1000;
    const mark = (await rootClient.get(keys.revoked('flood')).exec()).kvs[0];
    await w.cancel();
    await rw.cancel();
    return {
      idle,
      during,
      afterRevoke: revokedAt ? during.filter((_, i) => began[SAMPLES / 2 + i] >= revokedAt) : [],
      written: counts.reduce((n, c) => n + (c[0] || 0), 0),
      refused: counts.reduce((n, c) => n + (c[1] || 0), 0),
      floodSeconds,
      ...(revokedAt ? { revokedAfter: (revokedAt - floodStart) / 1000 } : {}),
      ...(mark ? { seenAtRevoke: JSON.parse(mark.value.toString()).keys } : {}),
    };
  } finally {
    for (const p of flooders) await stopProc(p, 'SIGKILL');
    await op.stop();
    rootClient.close();
    victimClient.close();
    await etcd.stop();
    rmSync(credsDir, { recursive: true, force: true });
  }
}

await buildOperator();
await ensureBuilt();
for (const revoke of MODES) {
  const r = await run(revoke);
  const how = revoke ? `default userLimits: ${r.revokedAfter !== undefined ? `revoked after ${r.revokedAfter.toFixed(1)} s, at ${r.seenAtRevoke} keys seen` : 'never revoked'}` : 'userLimits out of reach: no revocation';
  const flood = `${FLOODERS} clients flooding one user's prefix for ${r.floodSeconds.toFixed(0)} s (${how}; ${r.written} puts stored, ${(r.written / r.floodSeconds).toFixed(0)}/s, ${r.refused} refused)`;
  console.log(`flood bench (auth on), ${flood}`);
  console.log(`  another user's apply-to-Active, idle:         p50 ${pct(r.idle, 50).toFixed(1)} ms, p99 ${pct(r.idle, 99).toFixed(1)} ms`);
  console.log(`  another user's apply-to-Active, during flood: p50 ${pct(r.during, 50).toFixed(1)} ms, p99 ${pct(r.during, 99).toFixed(1)} ms (goal p99 < 10x idle)`);
  if (r.afterRevoke.length) console.log(`    of which ${r.afterRevoke.length} after the revocation: p50 ${pct(r.afterRevoke, 50).toFixed(1)} ms, p99 ${pct(r.afterRevoke, 99).toFixed(1)} ms`);
  record({ bench: 'flood', figure: `apply-to-Active p50 during ${flood}`, value: pct(r.during, 50), unit: 'ms', peer: 'apply-to-Active p50 before the flood', peerValue: pct(r.idle, 50) });
  record({ bench: 'flood', figure: `apply-to-Active p99 during the flood (${how})`, value: pct(r.during, 99), unit: 'ms', peer: 'apply-to-Active p99 before the flood', peerValue: pct(r.idle, 99), goal: 'ratio <= 10', met: pct(r.during, 99) / pct(r.idle, 99) <= 10 });
}

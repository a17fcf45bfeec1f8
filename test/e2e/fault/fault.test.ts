// The fault-injection suite, briefly (bench/fault.ts runs it long): a 3-member etcd on
// loopback, two real kiwi-operator processes, two real kiwi-node-daemon processes (simulated
// nodes: they register, heartbeat and follow their calendars, as kubemark's hollow nodes), and
// concurrent clients that create, extend, cancel and shorten bookings, while a nemesis
// SIGKILLs and SIGSTOPs the leading operator, SIGKILLs an etcd member and SIGSTOPs the raft
// leader, and SIGKILLs a daemon. All by PID, one fault at a time. Then etcd's history from
// revision 1 is replayed (test/helpers/history.ts) and must show: no calendar overlap, never
// two Active bookings on a node, no begun slot moved later or re-placed, every acknowledged
// write there, no two records of one node overlapping, and concurrent extends adding up; nodes
// written NotReady within a TTL of their heartbeat's last change fail it; NotReady under a paused
// raft leader and just after its resume are counted.
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { connect, guaranteedUpdate, keys, parseDuration, Store, type BookingSpec } from '../../../crds/api/index.js';
import { startEtcdCluster, stopProc, type TestEtcdCluster } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureBuilt, distScript } from '../../helpers/build.js';
import { checkHistory, etcdHistory, missingWrites, overlappingRecords, RevisionClock, runRevisionClock } from '../../helpers/history.js';
import { mkBooking, startOperator, type OperatorProc } from '../../integration/operator/helpers.js';
import { prng } from './prng.js';

const ROUNDS = Number(process.env.KIWI_FAULT_ROUNDS ?? 1);
const NODES_PER_DAEMON = 8;
const DAEMON_TTL = 3;
const OPERATOR_TTL = 2;
const CLIENTS = 3;
const SEED = Number(process.env.KIWI_FAULT_SEED ?? Date.now() % 1_000_000);

type Fault = { what: string; from: number; to: number; target?: string };

describe('fault injection: 3-member etcd, 2 operators, 2 daemons, clients, a nemesis (history replayed from revision 1)', function () {
  this.timeout(300_000 * ROUNDS);
  let cluster: TestEtcdCluster;
  let etcd: Etcd3;
  let store: Store;
  const ops: OperatorProc[] = [];
  const daemons = new Map<string, ChildProcess>();
  const startDaemon = (prefix: string) => {
    const p = spawn(process.execPath, [distScript('kiwi-node-daemon'), '--simulate', String(NODES_PER_DAEMON), '--node-name', prefix, '--endpoints', cluster.endpoints.join(','), '--lease-ttl', String(DAEMON_TTL), '--metrics-addr', 'none', '--log-level', 'warn'], { stdio: 'ignore' });
    daemons.set(prefix, p);
  };
  const startOp = (id: string) => {
    const i = ops.findIndex((o) => o.id === id);
    const o = startOperator(cluster.endpoints.join(','), { id, leaseTtl: OPERATOR_TTL, logLevel: 'warn' });
    if (i >= 0) ops[i] = o;
    else ops.push(o);
  };
  /** The running operator process that holds the election key now (by the pid it wrote there). */
  const leadingOp = async (): Promise<OperatorProc | undefined> => {
    const v = await etcd.get(keys.election()).json().catch(() => null) as { pid?: number } | null;
    return ops.find((o) => o.proc.pid === v?.pid && o.proc.exitCode === null && o.proc.signalCode === null);
  };
  const readyNodes = async () => (await store.list('Node')).filter((n) => n.status?.phase === 'Ready').length;

  before(async function () {
    ensureBuilt();
    console.log(`      (seed ${SEED}; KIWI_FAULT_SEED=${SEED} repeats the clients' choices; etcd ${/etcd Version: (\S+)/.exec(execFileSync('etcd', ['--version'], { encoding: 'utf8' }))?.[1]})`);
    cluster = await startEtcdCluster(3);
    etcd = connect({ endpoints: cluster.endpoints, callTimeoutMs: 3000 });
    store = new Store(etcd, { endpoints: cluster.endpoints, retries: 6 });
    startOp('fault-op-a');
    startOp('fault-op-b');
    startDaemon('fa');
    startDaemon('fb');
    await waitFor(async () => (await readyNodes()) === 2 * NODES_PER_DAEMON, { timeoutMs: 30_000, intervalMs: 100, what: `${2 * NODES_PER_DAEMON} simulated nodes Ready` });
    await waitFor(leadingOp, { timeoutMs: 15_000, what: 'a leading operator' });
  });
  after(async function () {
    if (this.currentTest?.state === 'failed') for (const o of ops) console.error(`[${o.id}]`, o.logs.filter((l) => l.level >= 50).slice(-20).map((l) => JSON.stringify(l)).join('\n'));
    for (const o of ops) o.proc.kill('SIGCONT');
    await Promise.all(ops.map((o) => o.stop()));
    await Promise.all([...daemons.values()].map((p) => stopProc(p)));
    etcd?.close();
    await cluster?.stop();
  });

  it(`keeps every invariant through ${ROUNDS} round(s) of operator, etcd and daemon faults`, async () => {
    const rnd = prng(SEED);
    const clock = new RevisionClock();
    const ticking = runRevisionClock(etcd, clock);
    const nodes = (await store.list('Node')).map((n) => n.metadata.name);
    const acked: { key: string; revision: number }[] = [];
    /** booking -> its duration at creation, acknowledged and unsure extends (only bookings never shortened) */
    const extendsOf = new Map<string, { initial: number; acked: number; unsure: number; shortened: boolean }>();
    const counts = { create: 0, extend: 0, cancel: 0, shorten: 0, failed: 0 };
    let stop = false;

    const client = async (c: number) => {
      const ns = `fault-u${c}`;
      const mine: string[] = [];
      let n = 0;
      while (!stop) {
        const r = rnd();
        const name = mine[Math.floor(rnd() * Math.min(mine.length, 8)) + Math.max(0, mine.length - 8)];
        const ref = { kind: 'Booking' as const, namespace: ns, name: name ?? '' };
        try {
          if (r < 0.35 || !name) {
            const bname = `b${c}-${n++}`;
            const duration = 3 + Math.floor(rnd() * 6);
            const spec: Partial<BookingSpec> = rnd() < 0.7 ? { nodes: [nodes[Math.floor(rnd() * nodes.length)]!], duration } : { count: 1, duration };
            extendsOf.set(`${ns}/${bname}`, { initial: duration, acked: 0, unsure: 0, shortened: false });
            const made = await store.create(mkBooking(ns, bname, spec));
            mine.push(bname);
            acked.push({ key: keys.spec({ kind: 'Booking', namespace: ns, name: bname }), revision: Number(made.metadata.resourceVersion) });
            counts.create++;
          } else if (r < 0.7) {
            // several clients extend one booking at once now and then: the extends must add up
            const x = extendsOf.get(`${ns}/${name}`)!;
            const one = async () => {
              x.unsure++;
              const { object } = await guaranteedUpdate(store, ref, (b) => {
                b.spec.duration = parseDuration(b.spec.duration ?? 0) + 2;
                return true;
              });
              x.unsure--;
              x.acked++;
              acked.push({ key: keys.spec(ref), revision: Number(object.metadata.resourceVersion) });
              counts.extend++;
            };
            await Promise.all(Array.from({ length: rnd() < 0.3 ? 3 : 1 }, one));
          } else if (r < 0.85) {
            const { object, changed } = await guaranteedUpdate(store, ref, (b) => !b.spec.cancelled && (b.spec.cancelled = true));
            if (changed) acked.push({ key: keys.spec(ref), revision: Number(object.metadata.resourceVersion) });
            counts.cancel++;
          } else {
            // shorten an Active booking to an end already past
            const cur = await store.get(ref);
            const start = cur?.status?.phase === 'Active' ? Date.parse(cur.status.startTime!) : NaN;
            const d = Math.floor((Date.now() - start) / 1000) - 1;
            if (d >= 1) {
              extendsOf.get(`${ns}/${name}`)!.shortened = true;
              const { object } = await guaranteedUpdate(store, ref, (b) => {
                b.spec.duration = d;
                return true;
              });
              acked.push({ key: keys.spec(ref), revision: Number(object.metadata.resourceVersion) });
              counts.shorten++;
            }
          }
        } catch {
          counts.failed++; // an etcd call that failed under a fault: not acknowledged, maybe applied
        }
        await new Promise((res) => setTimeout(res, 300 + rnd() * 300));
      }
    };

    const faults: Fault[] = [];
    const takeovers: number[] = [];
    /** A fault window: `inject`, the time the fault lasts, `heal`. The pauses are the fault's length, not waits for a condition. */
    const fault = async (what: string, inject: () => Promise<string | undefined>, lastsMs: number, heal: () => Promise<void>) => {
      const from = Date.now();
      const target = await inject();
      await new Promise((res) => setTimeout(res, lastsMs));
      await heal();
      faults.push({ what, from, to: Date.now(), target });
    };
    const leaderBack = async (before?: OperatorProc) => {
      const t = Date.now();
      await waitFor(async () => {
        const l = await leadingOp();
        return l && l !== before;
      }, { timeoutMs: 20_000, intervalMs: 50, what: 'another operator leading' });
      takeovers.push(Date.now() - t);
    };
    const calm = () => new Promise((res) => setTimeout(res, 2500)); // clients work without faults in between

    const running = Array.from({ length: CLIENTS }, (_, c) => client(c));
    try {
      await calm();
      for (let round = 0; round < ROUNDS; round++) {
        // the leading operator, SIGKILLed, started again after a while
        let op = await waitFor(leadingOp, { timeoutMs: 20_000, what: 'a leading operator' });
        const killedAt = Date.now();
        await fault('SIGKILL the leading operator', async () => (await op.kill(), op.id), 1500, async () => startOp(op.id));
        await waitFor(leadingOp, { timeoutMs: 20_000, intervalMs: 50, what: 'a leader after the SIGKILL' });
        takeovers.push(Date.now() - killedAt - 0);
        await calm();
        // the leading operator, SIGSTOPped past its lease; it wakes as a deposed leader
        op = await waitFor(leadingOp, { timeoutMs: 20_000, what: 'a leading operator' });
        const paused = op;
        let takeover: Promise<void> | undefined;
        await fault('SIGSTOP the leading operator', async () => (paused.proc.kill('SIGSTOP'), (takeover = leaderBack(paused)), paused.id), 5000, async () => void paused.proc.kill('SIGCONT'));
        await takeover;
        await calm();
        // an etcd member (the raft leader: writes in flight wait for a new one), SIGKILLed and restarted
        let m = (await waitFor(() => cluster.leader().then((i) => ({ i })), { what: 'a raft leader' })).i; // (index 0 is falsy)
        await fault('SIGKILL the raft leader (etcd)', async () => (await cluster.kill(m), `m${m}`), 3000, () => cluster.restart(m));
        await calm();
        // the raft leader SIGSTOPped for longer than the daemons' lease TTL
        m = (await waitFor(() => cluster.leader().then((i) => ({ i })), { what: 'a raft leader' })).i;
        await fault('SIGSTOP the raft leader (etcd)', async () => (cluster.pause(m), `m${m}`), (DAEMON_TTL + 2) * 1000, async () => cluster.resume(m));
        await calm();
        // a daemon SIGKILLed (its nodes' heartbeats stop), started again
        const d = round % 2 ? 'fb' : 'fa';
        await fault('SIGKILL a daemon', async () => (await stopProc(daemons.get(d)!, 'SIGKILL'), d), (DAEMON_TTL + 2) * 1000, async () => startDaemon(d)); // down past its TTL: its nodes turn NotReady
        await waitFor(async () => (await readyNodes()) === 2 * NODES_PER_DAEMON, { timeoutMs: 30_000, intervalMs: 100, what: 'every node Ready again after the daemon restart' });
        await calm();
      }
    } finally {
      stop = true;
      await Promise.all(running);
    }
    // Quiet: every booking decided on its last spec (an Expired one stays as it ended).
    await waitFor(async () => {
      const open = (await store.list('Booking')).filter((b) => !b.status?.phase || (b.status.phase !== 'Expired' && b.status.observedGeneration !== b.metadata.generation));
      if (open.length) throw new Error(`undecided: ${open.slice(0, 3).map((b) => `${b.metadata.namespace}/${b.metadata.name} generation ${b.metadata.generation} ${JSON.stringify(b.status)}`).join('; ')}`);
      return true;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'every booking decided on its last spec' });
    await ticking.stop();
    const final = await store.list('Booking');
    const revs = await etcdHistory(etcd);
    const h = checkHistory(revs, { clock });
    const dump = join(tmpdir(), `kiwitest-fault-history-${SEED}.json`);
    writeFileSync(dump, JSON.stringify({ seed: SEED, faults, clock, revs }));

    const phases = final.reduce<Record<string, number>>((a, b) => ({ ...a, [b.status?.reason ?? b.status!.phase!]: (a[b.status?.reason ?? b.status!.phase!] ?? 0) + 1 }), {});
    console.log(`      ${faults.length} faults: ${faults.map((f) => `${f.what} (${f.target}, ${((f.to - f.from) / 1000).toFixed(1)} s)`).join('; ')}`);
    console.log(`      clients: ${counts.create} creates, ${counts.extend} extends, ${counts.cancel} cancels, ${counts.shorten} shortened, ${counts.failed} calls failed under faults; bookings by outcome ${JSON.stringify(phases)}`);
    console.log(`      history (written to ${dump}, removed when the checks pass): ${h.revisions} revisions, at most ${h.maxActive} Active at once, ${h.begunSeen} begun slots followed; operator takeovers ${takeovers.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')}`);

    assert.ok(counts.create >= 20 && h.maxActive >= 4 && h.begunSeen >= 10, 'the run did too little for the checks to mean anything');
    assert.deepEqual(h.overlaps, [], 'calendar values overlapped');
    assert.deepEqual(h.twoActive.slice(0, 5), [], `${h.twoActive.length} revisions show two Active bookings on one node`);
    assert.deepEqual(h.moved.slice(0, 5), [], 'an Active booking moved');
    assert.deepEqual(h.begunMoved.slice(0, 5), [], 'a begun slot was moved later or placed again');
    assert.deepEqual(missingWrites(revs, acked), [], 'acknowledged writes missing from the history');
    assert.deepEqual(overlappingRecords(final), [], 'two records of one node overlap');
    // Concurrent extends add up (GuaranteedUpdate): the end moved by every acknowledged extend,
    // plus at most the unsure ones (failed calls that may have committed).
    for (const b of final) {
      const x = extendsOf.get(`${b.metadata.namespace}/${b.metadata.name}`);
      if (!x || x.shortened) continue;
      const got = (parseDuration(b.spec.duration ?? 0) - x.initial) / 2;
      assert.ok(got >= x.acked && got <= x.acked + x.unsure, `${b.metadata.namespace}/${b.metadata.name}: ${x.acked} acknowledged extends (+${x.unsure} unsure) but the duration grew by ${got} of them`);
    }
    // A paused raft leader costs no node: no NotReady committed while it was paused nor just
    // after, unless a daemon was down then. After the resume, etcd before 3.4.28 may revoke
    // leases the old leader computed as expired while paused (etcd-io/etcd#12528); the daemons
    // put their keys again under new leases, and a key gone for less than its TTL is no NotReady.
    const pauses = faults.filter((f) => f.what.startsWith('SIGSTOP the raft leader'));
    const daemonDown = faults.filter((f) => f.what === 'SIGKILL a daemon');
    const during: string[] = [];
    // heartbeat keys deleted while their daemons ran: revoked leases
    const revoked = revs.filter((r) => r.changes.some((c) => c.type === 'delete' && c.key.startsWith(keys.heartbeatPrefix())) && !daemonDown.some((f) => clock.upper(r.revision) >= f.from && clock.lower(r.revision) <= f.to + (DAEMON_TTL + 2) * 1000)).length;
    let afterResume = 0;
    for (const nr of h.notReady) {
      const lo = clock.lower(nr.revision);
      const hi = clock.upper(nr.revision);
      if (daemonDown.some((f) => hi >= f.from && lo <= f.to + (DAEMON_TTL + 2) * 1000)) continue;
      if (pauses.some((p) => lo >= p.from && hi <= p.to)) during.push(`${nr.node}@${nr.revision}`);
      else if (pauses.some((p) => lo >= p.from && lo <= p.to + (DAEMON_TTL + 2) * 1000)) afterResume++;
    }
    console.log(`      nodes NotReady while the raft leader was paused: ${during.length}; just after its resume: ${afterResume}; heartbeat leases revoked by the resumed old leader (etcd-io/etcd#12528, etcd < 3.4.28): ${revoked}`);
    // No node is written NotReady less than a TTL after its heartbeat value last changed,
    // whatever the faults: the NotReady compares the heartbeat revision it judged stale (a beat
    // that landed while the operator's watch lagged behind a paused member wins;
    // test/integration/operator/readiness.test.ts). Judged by the revision clock's bounds
    // (upper of the NotReady minus lower of the beat), so a hit is certain. A NotReady with no
    // beat within its TTL (all writes stalled, a lease revoked by the resumed old leader) is
    // measured above, not failed: the daemon did not write then.
    const notReadyAt = new Map<number, string[]>();
    for (const nr of h.notReady) notReadyAt.set(nr.revision, [...(notReadyAt.get(nr.revision) ?? []), nr.node]);
    const lastBeat = new Map<string, number>();
    const early: string[] = [];
    for (const r of revs) {
      for (const node of notReadyAt.get(r.revision) ?? []) {
        const beat = lastBeat.get(node);
        const gap = beat === undefined ? Infinity : clock.upper(r.revision) - clock.lower(beat);
        if (gap < DAEMON_TTL * 1000) early.push(`${node}@${r.revision}: its heartbeat changed at revision ${beat}, at most ${gap} ms before`);
      }
      for (const c of r.changes) if (c.type === 'put' && c.key.startsWith(keys.heartbeatPrefix())) lastBeat.set(c.key.slice(keys.heartbeatPrefix().length), r.revision);
    }
    assert.deepEqual(early.slice(0, 5), [], `${early.length} node(s) written NotReady within a TTL of a heartbeat`);
    rmSync(dump, { force: true });
    // For bench/fault.ts (which runs this long): takeovers, and the operator's decisions (booking
    // status writes) per second while a fault lasted, next to those between faults.
    const decisions = (inFault: boolean) => revs.filter((r) => {
      const lo = clock.lower(r.revision);
      const hi = clock.upper(r.revision);
      const within = faults.some((f) => lo >= f.from && hi <= f.to);
      return within === inFault && lo >= faults[0].from - 2500 && hi <= faults[faults.length - 1].to;
    }).reduce((n, r) => n + r.changes.filter((c) => c.key.startsWith(keys.statusPrefix('Booking'))).length, 0);
    const faultSeconds = faults.reduce((t, f) => t + (f.to - f.from) / 1000, 0);
    const calmSeconds = (faults[faults.length - 1].to - faults[0].from + 2500) / 1000 - faultSeconds;
    const summary = { rounds: ROUNDS, seed: SEED, takeoversMs: takeovers, decisionsPerSecondInFaults: decisions(true) / faultSeconds, decisionsPerSecondCalm: decisions(false) / calmSeconds, counts, revisions: h.revisions, begunSeen: h.begunSeen, leasesRevoked: revoked };
    console.log(`      booking decisions/s during faults ${summary.decisionsPerSecondInFaults.toFixed(1)}, between faults ${summary.decisionsPerSecondCalm.toFixed(1)}`);
    if (process.env.KIWI_FAULT_SUMMARY) writeFileSync(process.env.KIWI_FAULT_SUMMARY, JSON.stringify(summary));
  });
});

// The operator bench's measurements, one fresh etcd per call, so that bench/operator.ts (this
// checkout) and bench/before-after.ts (an older commit's build next to this one, alternately)
// measure the same thing: raw etcd create-if-absent rate and latency (the peer), apply-to-Active
// latency on an idle cluster, a live burst and a backlog.
//   live burst: 64 clients apply bookings at once while the operator runs (apply + activate);
//   backlog:    bookings applied while no operator runs, then one starts: the operator alone, timed
//               from its election and (cold) from its process start: an operator that syncs its
//               cache before campaigning (operator.ts) does its snapshot before the election.
import { pct, pool } from './stats.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { waitFor } from '../test/helpers/wait.js';
import { startOperator, mkBooking, mkNode } from '../test/integration/operator/helpers.js';
import { keys } from '../crds/api/index.js';

export const IN_FLIGHT = 64;

export interface OperatorFigures {
  nodes: number;
  burst: number;
  rawRate: number;
  rawLat: number[];
  /** apply-to-Active on an idle cluster, ms */
  lat: number[];
  liveRate: number;
  appliedMs: number;
  /** the backlog from the new operator's election to the last Active */
  backlogRate: number;
  /** the same from the new operator's process start: a cold start, whatever it does before it campaigns */
  backlogColdRate: number;
}

/** `root`: the checkout whose bin/kiwi-operator runs (default: this one). */
export async function measureOperator(nodes: number, root?: string): Promise<OperatorFigures> {
  const SAMPLES = Math.floor(nodes * 0.2);
  const BURST = Math.floor(nodes * 0.4);
  const etcd = await startEtcd();
  const stores = Array.from({ length: 4 }, () => etcd.store());
  const client = etcd.client();
  const start = (id: string) => startOperator(etcd.endpoint, { id, leaseTtl: 2, logLevel: 'warn', ...(root ? { root } : {}) });
  let op = start('bench-1');
  try {
    // Raw etcd peers: create-if-absent transactions through the same client library.
    const RAW = 3000;
    let t = performance.now();
    await pool(RAW, IN_FLIGHT, (i) => {
      const c = stores[i % stores.length].etcd; // the same connections the applies use
      return c.if(`/bench/raw/${i}`, 'Create', '==', 0).then(c.put(`/bench/raw/${i}`).value('x')).commit();
    });
    const rawRate = RAW / ((performance.now() - t) / 1000);
    const rawLat: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = performance.now();
      await client.if(`/bench/rawlat/${i}`, 'Create', '==', 0).then(client.put(`/bench/rawlat/${i}`).value('x')).commit();
      rawLat.push(performance.now() - t0);
    }

    const names = Array.from({ length: nodes }, (_, i) => `node-${String(i).padStart(4, '0')}`);
    await pool(nodes, IN_FLIGHT, (i) => stores[i % stores.length].create(mkNode(names[i])));
    await waitFor(async () => (await client.get(keys.election()).exec()).kvs.length > 0, { timeoutMs: 30_000, what: 'operator leading' });

    const activeAt = new Map<string, number>();
    const w = await client.watch().prefix(keys.statusPrefix('Booking')).create();
    w.on('put', (kv) => {
      if (JSON.parse(kv.value.toString()).phase === 'Active') {
        const k = kv.key.toString().slice(keys.statusPrefix('Booking').length);
        if (!activeAt.has(k)) activeAt.set(k, performance.now());
      }
    });
    const activeOf = (ns: string) => [...activeAt].filter(([k]) => k.startsWith(ns + '/'));

    // Latency on an idle cluster: one booking at a time, apply -> Active seen.
    const lat: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const key = `lat/b${i}`;
      const t0 = performance.now();
      await stores[0].create(mkBooking('lat', `b${i}`, { nodes: [names[i]], duration: 3600 }));
      await waitFor(() => activeAt.has(key), { intervalMs: 1, timeoutMs: 10_000, what: `${key} Active` });
      lat.push(activeAt.get(key)! - t0);
    }

    // Live burst: IN_FLIGHT clients apply at once while the operator runs.
    t = performance.now();
    await pool(BURST, IN_FLIGHT, (i) => stores[i % stores.length].create(mkBooking('burst', `b${i}`, { nodes: [names[SAMPLES + i]], duration: 3600 })));
    const appliedMs = performance.now() - t;
    await waitFor(() => activeOf('burst').length === BURST, { intervalMs: 5, timeoutMs: 60_000, what: 'burst Active' });
    const liveRate = BURST / ((Math.max(...activeOf('burst').map(([, v]) => v)) - t) / 1000);

    // Backlog: apply while no operator runs; then start one and time it from its election.
    await op.stop();
    await pool(BURST, IN_FLIGHT, (i) => stores[i % stores.length].create(mkBooking('backlog', `b${i}`, { nodes: [names[SAMPLES + BURST + i]], duration: 3600 })));
    let electedAt = 0;
    const we = await client.watch().key(keys.election()).create();
    we.on('put', () => (electedAt ||= performance.now()));
    const spawnedAt = performance.now();
    op = start('bench-2');
    await waitFor(() => activeOf('backlog').length === BURST, { intervalMs: 5, timeoutMs: 60_000, what: 'backlog Active' });
    const lastBacklog = Math.max(...activeOf('backlog').map(([, v]) => v));
    const backlogRate = BURST / ((lastBacklog - electedAt) / 1000);
    const backlogColdRate = BURST / ((lastBacklog - spawnedAt) / 1000);
    await we.cancel();
    await w.cancel();
    return { nodes, burst: BURST, rawRate, rawLat, lat, liveRate, appliedMs, backlogRate, backlogColdRate };
  } finally {
    await op.stop();
    await etcd.stop();
  }
}

export const p50 = (xs: number[]) => pct(xs, 50);
export const p99 = (xs: number[]) => pct(xs, 99);

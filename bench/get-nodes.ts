// Bench: `kiwictl get nodes` over 10,000 Node objects, next to etcdctl reading the same
// keys in the same run (machines are noisy: compare the ratio, not absolute figures).
// Goal: kiwictl at most 3x etcdctl. Run: npx tsx bench/get-nodes.ts [count] [runs]
import { median } from './stats.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { ensureBuilt, KIWICTL, ROOT } from '../test/integration/kiwictl/cli.js';
import type { Node } from '../crds/api/index.js';
import { record } from './record.js';
import { ETCDCTL_NODES, etcdctlNodes, timeProcess } from './time-process.js';

const COUNT = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 7);


await ensureBuilt();
const etcd = await startEtcd();
try {
  const store = etcd.store();
  const t0 = performance.now();
  const names = Array.from({ length: COUNT }, (_, i) => `node-${String(i).padStart(5, '0')}`);
  // 64 writes in flight: the store is not what this bench measures
  for (let i = 0; i < names.length; i += 64) {
    await Promise.all(
      names.slice(i, i + 64).map(async (name, j) => {
        const n: Node = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name, labels: { rack: `r${(i + j) % 40}` } }, spec: { address: `10.${(i + j) >> 8 & 255}.${(i + j) & 255}.1`, sshPort: 22 } };
        await store.create(n);
        await store.updateStatus({ kind: 'Node', name }, { phase: 'Ready', capacity: { cpus: 64 }, heartbeatTime: new Date().toISOString() });
      }),
    );
  }
  console.log(`wrote ${COUNT} nodes (spec and status) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const env = { ...process.env, KIWI_ENDPOINTS: etcd.endpoint, KIWI_STATE_DIR: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', ETCDCTL_API: '3' };
  const kiwi: number[] = [];
  const ctl: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // interleaved, so that a noisy moment hurts both alike
    const k = timeProcess(KIWICTL, ['get', 'nodes'], env, { cwd: ROOT });
    if (k.lines !== COUNT + 1) throw new Error(`kiwictl printed ${k.lines} lines, expected ${COUNT + 1}`);
    kiwi.push(k.ms);
    const e = etcdctlNodes(etcd.endpoint, env);
    if (e.lines < 4 * COUNT) throw new Error(`etcdctl printed ${e.lines} lines, expected at least ${4 * COUNT}`);
    ctl.push(e.ms);
  }
  const [mk, me] = [median(kiwi), median(ctl)];
  console.log(`kiwictl get nodes (${COUNT} nodes, spec+status, table):  median ${mk.toFixed(0)} ms  (runs: ${kiwi.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`etcdctl txn, node specs and statuses (${2 * COUNT} keys):    median ${me.toFixed(0)} ms  (runs: ${ctl.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`ratio kiwictl/etcdctl: ${(mk / me).toFixed(2)}x (goal: at most 3x) ${mk / me <= 3 ? 'OK' : 'MISSED'}`);
  record({ bench: 'get-nodes', figure: `kiwictl get nodes, ${COUNT} nodes (median)`, value: mk, unit: 'ms', peer: ETCDCTL_NODES, peerValue: me, goal: 'ratio <= 3', met: mk / me <= 3 });
} finally {
  await etcd.stop();
}

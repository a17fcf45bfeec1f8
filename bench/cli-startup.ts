// Bench: whole-process start-up of kiwictl on a small cluster (10 nodes, 10 bookings), next to
// `node -e 0` in the same run. Goal: `kiwictl get nodes` and `get bookings -A` at most 3x node's
// own start. Run: npx tsx bench/cli-startup.ts [runs]
import { median } from './stats.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { ensureBuilt, KIWICTL, ROOT } from '../test/integration/kiwictl/cli.js';
import { record } from './record.js';
import { timeProcess } from './time-process.js';

const RUNS = Number(process.argv[2] ?? 15);

await ensureBuilt();
const etcd = await startEtcd();
try {
  const store = etcd.store();
  for (let i = 0; i < 10; i++) {
    const name = `n${String(i).padStart(2, '0')}`;
    await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name }, spec: { address: `10.0.0.${i + 1}`, sshPort: 22 } });
    await store.updateStatus({ kind: 'Node', name }, { phase: 'Ready' });
    await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: `bk${i}`, namespace: `user${i % 3}` }, spec: { user: `user${i % 3}`, nodes: [name], duration: 3600, queue: true } });
  }
  const env = { ...process.env, KIWI_ENDPOINTS: etcd.endpoint, KIWI_STATE_DIR: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' };
  const cases: [string, string, string[]][] = [
    ['node -e 0', process.execPath, ['-e', '0']],
    ['kiwictl get nodes', KIWICTL, ['get', 'nodes']],
    ['kiwictl get bookings -A', KIWICTL, ['get', 'bookings', '-A']],
    ['kiwictl explain booking (no etcd)', KIWICTL, ['explain', 'booking']],
  ];
  const times = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  for (let i = 0; i < RUNS; i++) for (const [name, cmd, args] of cases) times.get(name)!.push(timeProcess(cmd, args, env, { cwd: ROOT }).ms);
  const base = median(times.get('node -e 0')!);
  for (const [name] of cases) {
    const m = median(times.get(name)!);
    const ratio = m / base;
    const goal = name.startsWith('kiwictl get') ? `  (goal at most 3x: ${ratio <= 3 ? 'OK' : 'MISSED'})` : '';
    console.log(`${name.padEnd(36)} median ${m.toFixed(0).padStart(4)} ms  ${ratio.toFixed(2)}x node -e 0${goal}`);
    if (name !== 'node -e 0')
      record({ bench: 'cli-startup', figure: `${name} (whole process)`, value: m, unit: 'ms', peer: 'node -e 0', peerValue: base, ...(name.startsWith('kiwictl get') ? { goal: 'ratio <= 3', met: ratio <= 3 } : {}) });
  }
} finally {
  await etcd.stop();
}

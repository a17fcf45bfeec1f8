// Bench: `kiwictl apply --dry-run -f` of one file with 100,000 Booking documents (issue 16: it
// took 58 s), next to the floor measured in the same run: parsing that file with js-yaml alone,
// in a process of its own. Goal: seconds, not a minute (at most 10 s).
// Run: npx tsx bench/apply-dry-run.ts [count]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../test/helpers/etcd.js';
import { ensureBuilt, KIWICTL, ROOT } from '../test/integration/kiwictl/cli.js';
import { record } from './record.js';
import { timeProcess } from './time-process.js';

const COUNT = Number(process.argv[2] ?? 100_000);
await ensureBuilt();
const dir = mkdtempSync(join(tmpdir(), 'kiwi-bench-dry-'));
const etcd = await startEtcd();
try {
  const file = join(dir, 'bookings.yaml');
  let s = '';
  for (let i = 0; i < COUNT; i++) s += `apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata:\n  name: b${i}\n  namespace: alice\nspec:\n  user: alice\n  nodes: [n${i % 100}]\n  duration: 1h\n---\n`;
  writeFileSync(file, s);
  const env = { ...process.env, KIWI_ENDPOINTS: etcd.endpoint, XDG_CONFIG_HOME: '/nonexistent', KIWI_DEV_STATE_DIR: '/nonexistent' };
  const k = timeProcess(KIWICTL, ['apply', '--dry-run', '-f', file], env, { cwd: ROOT });
  if (k.lines !== COUNT) throw new Error(`kiwictl printed ${k.lines} lines, expected ${COUNT}`);
  const floor = timeProcess(process.execPath, ['-e', `const y=require('js-yaml');y.loadAll(require('fs').readFileSync(${JSON.stringify(file)},'utf8'),undefined,{schema:y.CORE_SCHEMA}).filter(Boolean).forEach(d=>console.log(d.metadata.name))`], env, { cwd: ROOT });
  console.log(`kiwictl apply --dry-run, ${COUNT} documents: ${(k.ms / 1000).toFixed(1)} s; js-yaml parsing the file alone: ${(floor.ms / 1000).toFixed(1)} s; ratio ${(k.ms / floor.ms).toFixed(1)}x (goal: at most 10 s) ${k.ms <= 10_000 ? 'OK' : 'MISSED'}`);
  record({ bench: 'apply-dry-run', figure: `kiwictl apply --dry-run, ${COUNT} documents`, value: k.ms, unit: 'ms', peer: 'js-yaml parsing the same file alone', peerValue: floor.ms, goal: 'value <= 10000', met: k.ms <= 10_000 });
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}

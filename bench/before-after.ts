// Bench: the operator of an older commit next to this checkout's, measured alternately in one run
// (issue 14: "operator throughput and apply-to-Active within noise of the figures before,
// measured side by side"). The older commit is built in a temporary git worktree under /tmp
// (node_modules copied from this checkout, `npm run build`), removed at the end. Each round runs
// bench/operator-measure.ts once per build, on a fresh etcd each, alternating which goes first,
// so drift of the shared machine falls on both. The older build is the peer of every figure.
// Run: npx tsx bench/before-after.ts [ref=9904aa0^] [rounds=5] [nodes=1000] (npm run bench runs it with these)
// (9904aa0^ is main before the planner was split into phases.)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from './record.js';
import { median } from './stats.js';
import { buildOperator } from '../test/integration/operator/helpers.js';
import { measureOperator, p50, p99, type OperatorFigures } from './operator-measure.js';

const REF = process.argv[2] ?? '9904aa0^';
const ROUNDS = Number(process.argv[3] ?? 5);
const NODES = Number(process.argv[4] ?? 1000);
const ROOT = new URL('../', import.meta.url).pathname;
const git = (...a: string[]) => execFileSync('git', ['-C', ROOT, ...a], { encoding: 'utf8' }).trim();

const commit = git('rev-parse', '--short', `${REF}^{commit}`);
const head = git('rev-parse', '--short', 'HEAD');
const dir = join(mkdtempSync(join(tmpdir(), 'kiwi-before-')), 'tree');
await buildOperator();
git('worktree', 'add', '--detach', dir, commit);
try {
  cpSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });

  const runs: { before: OperatorFigures[]; after: OperatorFigures[] } = { before: [], after: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const side of order) {
      const f = await measureOperator(NODES, side === 'before' ? dir : undefined);
      runs[side].push(f);
      console.error(`round ${r + 1} ${side}: apply-to-Active p50 ${p50(f.lat).toFixed(2)} p99 ${p99(f.lat).toFixed(2)} ms (raw ${p50(f.rawLat).toFixed(2)} / ${p99(f.rawLat).toFixed(2)}); live ${f.liveRate.toFixed(0)}/s, backlog ${f.backlogRate.toFixed(0)}/s (cold ${f.backlogColdRate.toFixed(0)}/s) (raw ${f.rawRate.toFixed(0)}/s)`);
    }
  }

  // Latencies pooled over the rounds (more samples for a p99); rates as the median round.
  const all = (side: 'before' | 'after') => runs[side].flatMap((f) => f.lat);
  const rate = (side: 'before' | 'after', k: 'liveRate' | 'backlogRate' | 'backlogColdRate' | 'rawRate') => median(runs[side].map((f) => f[k]));
  const BURST = runs.after[0].burst;
  const rows: [string, number, number, string][] = [
    ['apply-to-Active p50, idle cluster', p50(all('after')), p50(all('before')), 'ms'],
    ['apply-to-Active p99, idle cluster', p99(all('after')), p99(all('before')), 'ms'],
    [`bookings activated/s, live burst of ${BURST}, ${NODES} nodes`, rate('after', 'liveRate'), rate('before', 'liveRate'), '/s'],
    [`bookings activated/s, backlog of ${BURST}, ${NODES} nodes`, rate('after', 'backlogRate'), rate('before', 'backlogRate'), '/s'],
    [`bookings activated/s, backlog of ${BURST}, ${NODES} nodes, from the operator's process start (cold)`, rate('after', 'backlogColdRate'), rate('before', 'backlogColdRate'), '/s'],
    ['raw etcd create-if-absent txns/s (the floor, measured before each build)', rate('after', 'rawRate'), rate('before', 'rawRate'), '/s'],
  ];
  console.log(`operator before/after: ${head} (this checkout) vs ${commit} (${REF}), ${ROUNDS} rounds alternating, ${NODES} nodes`);
  for (const [figure, value, peer, unit] of rows) {
    console.log(`  ${figure}: ${value.toFixed(2)} ${unit} vs ${peer.toFixed(2)} ${unit} (${(value / peer).toFixed(2)}x)`);
    record({ bench: 'before-after', figure: `${figure}, ${head}`, value, unit, peer: `the same, operator of ${commit} (${REF})`, peerValue: peer });
  }
} finally {
  git('worktree', 'remove', '--force', dir);
  rmSync(join(dir, '..'), { recursive: true, force: true });
}

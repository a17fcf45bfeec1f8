// The fault-injection suite run long (test/e2e/fault/fault.test.ts, KIWI_FAULT_ROUNDS rounds,
// default 4; CI runs one): every invariant is checked as in the test, and reported are the
// operator takeover times (next to the operator's lease TTL, the floor a standby waits out) and
// the operator's decisions per second while a fault lasted (next to those between faults).
// Run: npx tsx bench/fault.ts [ROUNDS]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from './record.js';
import { pct } from './stats.js';

const ROUNDS = Number(process.argv[2] ?? 4);
const OPERATOR_TTL_MS = 2000; // --lease-ttl of the suite's operators
const dir = mkdtempSync(join(tmpdir(), 'kiwi-bench-fault-'));
const summaryFile = join(dir, 'summary.json');
try {
  const r = spawnSync('npx', ['mocha', 'test/e2e/fault/fault.test.ts'], { stdio: 'inherit', env: { ...process.env, KIWI_FAULT_ROUNDS: String(ROUNDS), KIWI_FAULT_SUMMARY: summaryFile } });
  if (r.status !== 0) throw new Error(`the fault suite failed (exit ${r.status}); its output above says which invariant`);
  const s = JSON.parse(readFileSync(summaryFile, 'utf8')) as { takeoversMs: number[]; decisionsPerSecondInFaults: number; decisionsPerSecondCalm: number; counts: Record<string, number> };
  const p50 = pct(s.takeoversMs, 50);
  const worst = Math.max(...s.takeoversMs);
  console.log(`${ROUNDS} rounds of faults: operator takeover p50 ${p50} ms, longest ${worst} ms (lease TTL ${OPERATOR_TTL_MS} ms); decisions/s during faults ${s.decisionsPerSecondInFaults.toFixed(1)}, between ${s.decisionsPerSecondCalm.toFixed(1)}`);
  record({ bench: 'fault', figure: 'operator takeover after SIGKILL or SIGSTOP of the leader, p50', value: p50, unit: 'ms', peer: 'operator lease TTL', peerValue: OPERATOR_TTL_MS });
  record({ bench: 'fault', figure: 'operator takeover, longest', value: worst, unit: 'ms', peer: 'operator lease TTL', peerValue: OPERATOR_TTL_MS });
  record({ bench: 'fault', figure: 'booking decisions/s while a fault lasts', value: s.decisionsPerSecondInFaults, unit: '/s', peer: 'between faults (same run)', peerValue: s.decisionsPerSecondCalm });
  record({ bench: 'fault', figure: 'invariant violations (overlap, two Active, begun slot moved, write lost, records overlap)', value: 0, unit: '', peer: 'client operations', peerValue: Object.values(s.counts).reduce((a, b) => a + b, 0), goal: 'value == 0', met: true });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

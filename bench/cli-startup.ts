// Bench: whole-process start-up of kiwictl on a small cluster (10 nodes, 10 bookings), next to
// `node -e 0` in the same run, interleaved. Both sides run with NODE_EXTRA_CA_CERTS unset: Node
// loads that file at every start (this machine kind sets it: ~35 ms), which is the user's
// environment, not Kiwi's cost. Variants:
//   plain:         etcd without auth or TLS. Goal: get nodes and get bookings -A at most 2x.
//   auth and TLS:  etcd on https with --client-cert-auth and auth on (kiwictl admin enable-auth),
//                  kiwictl as root with root's credential file, its login token kept between
//                  commands (token-cache.ts; the first command logs in). Goal: at most 2.5x. The same reads
//                  through etcd3 (KIWI_READ_VIA=etcd3, the path before wire.ts spoke auth and TLS)
//                  are measured alongside; then the same with etcd --bcrypt-cost 4.
// Run: npx tsx bench/cli-startup.ts [runs]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { startTlsEtcd } from '../test/helpers/tls.js';
import { waitFor } from '../test/helpers/wait.js';
import { ensureBuilt, KIWICTL, ROOT } from '../test/integration/kiwictl/cli.js';
import { connect, Store } from '../crds/api/index.js';
import { record } from './record.js';
import { timeProcess } from './time-process.js';

const RUNS = Number(process.argv[2] ?? 15);

async function seed(store: Store): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const name = `n${String(i).padStart(2, '0')}`;
    await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name }, spec: { address: `10.0.0.${i + 1}`, sshPort: 22 } });
    await store.updateStatus({ kind: 'Node', name }, { phase: 'Ready' });
    await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: `bk${i}`, namespace: `user${i % 3}` }, spec: { user: `user${i % 3}`, nodes: [name], duration: 3600, queue: true } });
  }
}

/** Times every case RUNS times, interleaved with `node -e 0`; records each against it. */
function measure(variant: string, env: NodeJS.ProcessEnv, cases: [string, string[], NodeJS.ProcessEnv?][], goal: number): void {
  const all: [string, string, string[], NodeJS.ProcessEnv][] = [['node -e 0', process.execPath, ['-e', '0'], env], ...cases.map(([n, a, e]) => [n, KIWICTL, a, { ...env, ...e }] as [string, string, string[], NodeJS.ProcessEnv])];
  const times = new Map<string, number[]>(all.map(([n]) => [n, []]));
  for (const [, cmd, args, e] of all) timeProcess(cmd, args, e, { cwd: ROOT }); // warm the page cache
  for (let i = 0; i < RUNS; i++) for (const [name, cmd, args, e] of all) times.get(name)!.push(timeProcess(cmd, args, e, { cwd: ROOT }).ms);
  const base = median(times.get('node -e 0')!);
  console.log(`-- ${variant} (NODE_EXTRA_CA_CERTS unset), ${RUNS} runs each`);
  for (const [name] of all) {
    const m = median(times.get(name)!);
    const ratio = m / base;
    const goaled = /^kiwictl get (nodes|bookings -A)$/.test(name);
    console.log(`${name.padEnd(40)} median ${m.toFixed(0).padStart(4)} ms  ${ratio.toFixed(2)}x node -e 0${goaled ? `  (goal at most ${goal}x: ${ratio <= goal ? 'OK' : 'MISSED'})` : ''}`);
    if (name !== 'node -e 0')
      record({ bench: 'cli-startup', figure: `${name}, ${variant} (whole process)`, value: m, unit: 'ms', peer: 'node -e 0 (NODE_EXTRA_CA_CERTS unset)', peerValue: base, ...(goaled ? { goal: `ratio <= ${goal}`, met: ratio <= goal } : {}) });
  }
}

await ensureBuilt();
const { NODE_EXTRA_CA_CERTS: _, ...base } = process.env;
const isolated = { ...base, KIWI_STATE_DIR: '/nonexistent', KIWI_DEV_STATE_DIR: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' };
const reads: [string, string[]][] = [['kiwictl get nodes', ['get', 'nodes']], ['kiwictl get bookings -A', ['get', 'bookings', '-A']]];

const etcd = await startEtcd();
try {
  await seed(etcd.store());
  measure('etcd without auth or TLS', { ...isolated, KIWI_ENDPOINTS: etcd.endpoint }, [...reads, ['kiwictl explain booking (no etcd)', ['explain', 'booking']]], 2);
} finally {
  await etcd.stop();
}

// etcd's default bcrypt cost (10), as the docs recommend; and cost 4, the option docs/security.md
// describes (Kiwi's generated passwords gain nothing from stretching): the login is most of it.
for (const bcrypt of [10, 4]) {
  const tls = await startTlsEtcd(['--bcrypt-cost', String(bcrypt)]);
  const credsDir = mkdtempSync(join(tmpdir(), 'kiwitest-creds-'));
  try {
    const tlsFiles = { caFile: tls.env.KIWI_ETCD_CA, certFile: tls.env.KIWI_ETCD_CERT, keyFile: tls.env.KIWI_ETCD_KEY };
    const client = connect({ endpoints: [tls.endpoint], callTimeoutMs: 3000, tls: tlsFiles });
    await waitFor(() => client.get('/').then(() => true), { timeoutMs: 15_000, what: `etcd on ${tls.endpoint}` });
    await seed(new Store(client, { endpoints: [tls.endpoint] }));
    client.close();
    const env = { ...isolated, ...tls.env, KIWI_CREDENTIALS_DIR: credsDir };
    timeProcess(KIWICTL, ['admin', 'enable-auth'], env, { cwd: ROOT });
    // Each command after the first reuses the login's token (kiwictl/src/client/token-cache.ts, kept
    // in the warm-up run); KIWI_TOKEN_CACHE=off is a first command's cost: a login (bcrypt) each.
    const via = bcrypt === 10 ? reads.flatMap(([n, a]) => [[`${n} without the token cache (a login each)`, a, { KIWI_TOKEN_CACHE: 'off' }], [`${n} via etcd3`, a, { KIWI_READ_VIA: 'etcd3' }]] as [string, string[], NodeJS.ProcessEnv][]) : [];
    measure(`etcd with auth (bcrypt cost ${bcrypt}) and TLS (client certificates)`, env, [...reads, ...via], 2.5);
  } finally {
    await tls.stop();
    rmSync(credsDir, { recursive: true, force: true });
  }
}

// End to end: a real etcd, the real built kiwi-operator and kiwi-node-daemon (dist/), each with
// --metrics-addr on a free 127.0.0.1 port, scraped over HTTP while a booking lives: transitions
// counted, kiwi_bookings{phase="Active"} going 0 -> 1 -> 0, the daemon's cleanup histogram and
// PAM decisions counting, /readyz 200 once ready and not after SIGTERM. Root (a kiwitest user).
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Booking } from '../../../crds/api/index.js';
import { distScript, ensureBuilt, type Program } from '../../helpers/build.js';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { killAllOf, sleeper, livePids } from '../../helpers/procs.js';
import { ensureUser, type TestUser } from '../../helpers/users.js';
import { waitFor } from '../../helpers/wait.js';
import { mkBooking } from '../../integration/operator/helpers.js';

interface Proc {
  proc: ChildProcess;
  logs: string[];
}

/** Starts a built program (dist/) in test mode; the test stops it by PID. */
function run(p: Program, args: string[]): Proc {
  const proc = spawn(process.execPath, [distScript(p), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH!, KIWI_TEST: '1' } });
  const logs: string[] = [];
  let buf = '';
  proc.stderr!.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    logs.push(...lines);
    if (process.env.KIWI_TEST_VERBOSE) for (const l of lines) console.error(`[${p}] ${l}`);
  });
  return { proc, logs };
}

type Sample = { name: string; labels: Record<string, string>; value: number };

/** GET /metrics, parsed (Prometheus text format: name{a="b",...} value). */
async function scrape(port: number): Promise<Sample[]> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(r.status, 200);
  const out: Sample[] = [];
  for (const line of (await r.text()).split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of one series (labels: a subset to match); undefined when absent. */
function val(s: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return hit.length ? hit.reduce((a, x) => a + x.value, 0) : undefined;
}

async function status(port: number, path: string): Promise<number | 'refused'> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  } catch {
    return 'refused';
  }
}

/** One PAM check over the daemon's socket: the reply line. */
function pamAsk(socket: string, user: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let out = '';
    c.setEncoding('latin1');
    c.on('data', (d: string) => (out += d));
    c.on('close', () => resolve(out.trim()));
    c.on('error', reject);
    c.on('connect', () => c.end(`${user}\n`));
  });
}

describe('metrics and health endpoints (real etcd, operator, node daemon)', function () {
  this.timeout(90_000);
  let etcd: TestEtcd | undefined;
  let op: Proc | undefined;
  let dmn: Proc | undefined;
  let dir: string | undefined;
  let user: TestUser;
  const node = `kiwitest-metrics-${process.pid}`;

  before(async () => {
    ensureBuilt();
    user = ensureUser('metrics');
    etcd = await startEtcd();
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-metrics-'));
  });

  after(async () => {
    for (const p of [op, dmn]) if (p) await stopProc(p.proc, 'SIGTERM');
    if (user) await killAllOf(user);
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const [n, p] of [['operator', op], ['daemon', dmn]] as const) if (p) console.error(`--- ${n} ---\n${p.logs.slice(-40).join('\n')}`);
  });

  it('scrapes both programs while a booking starts and ends, and sees the counts move', async () => {
    const store = etcd!.store();
    const [opPort, dPort] = [await freePort(), await freePort()];
    const pamSocket = join(dir!, 'pam.sock');

    op = run('kiwi-operator', ['--endpoints', etcd!.endpoint, '--lease-ttl', '1', '--log-level', 'debug', '--id', 'kiwitest-metrics-op', '--metrics-addr', `127.0.0.1:${opPort}`]);
    await waitFor(async () => (await status(opPort, '/readyz')) === 200, { timeoutMs: 15_000, what: 'operator /readyz 200' });
    assert.equal(await status(opPort, '/healthz'), 200);
    assert.equal(await status(opPort, '/nope'), 404);
    let o = await waitFor(async () => {
      const s = await scrape(opPort);
      return val(s, 'kiwi_leader') === 1 ? s : undefined;
    }, { what: 'kiwi_leader 1' });
    assert.equal(val(o, 'kiwi_bookings', { phase: 'Active' }), 0);
    assert.equal(val(o, 'kiwi_queue_length'), 0);
    const transitions0 = val(o, 'kiwi_transitions_total') ?? 0;

    dmn = run('kiwi-node-daemon', [
      '--endpoints', etcd!.endpoint, '--node-name', node, '--address', '127.0.0.1', '--state-dir', dir!,
      '--lease-ttl', '2', '--only-users-matching', '^kiwitest-', '--no-cgroups', '--log-level', 'debug',
      '--pam-socket', pamSocket, '--pam-bypass-file', join(dir!, 'pam-bypass'), '--metrics-addr', `127.0.0.1:${dPort}`,
    ]);
    await waitFor(async () => (await status(dPort, '/readyz')) === 200, { timeoutMs: 15_000, what: 'daemon /readyz 200' });
    await waitFor(async () => val(await scrape(dPort), 'kiwi_heartbeat_ok') === 1, { what: 'kiwi_heartbeat_ok 1' });
    // Ready: who writes it first is a race (the daemon on first registration, or the operator,
    // whose write alone counts a Node Ready transition), so the gauge is what is asserted here;
    // the transitions counter is asserted below with the booking's, which only the operator writes.
    await waitFor(async () => (val(await scrape(opPort), 'kiwi_nodes', { phase: 'Ready' }) === 1 ? true : undefined), { what: 'kiwi_nodes{phase="Ready"} 1' });

    // PAM: no booking yet -> a counted deny
    assert.match(await pamAsk(pamSocket, user.name), /^deny /);
    let d = await scrape(dPort);
    assert.equal(val(d, 'kiwi_pam_decisions_total', { outcome: 'noBooking', allow: 'false' }), 1);

    // A short booking: Active, then Expired by its time limit.
    await store.create<Booking>(mkBooking(user.name, 'bk-metrics', { nodes: [node], duration: 4 } as any));
    o = await waitFor(async () => {
      const s = await scrape(opPort);
      return val(s, 'kiwi_bookings', { phase: 'Active' }) === 1 ? s : undefined;
    }, { what: 'kiwi_bookings{phase="Active"} 1' });
    assert.ok((val(o, 'kiwi_transitions_total', { kind: 'Booking', transition: 'Started' }) ?? 0) >= 1);
    assert.ok(val(o, 'kiwi_transitions_total')! > transitions0, 'kiwi_transitions_total rose');
    assert.equal(val(o, 'kiwi_queue_wait_seconds_count'), 1, 'the activation observed its queue wait');
    assert.ok((val(o, 'kiwi_reconcile_duration_seconds_count') ?? 0) >= 1);
    const startedTransitions = val(o, 'kiwi_transitions_total')!;

    // The user logs in (allowed, counted) and leaves a process behind.
    await waitFor(async () => (await pamAsk(pamSocket, user.name)).startsWith('allow'), { what: 'PAM allows the booked user' });
    d = await scrape(dPort);
    assert.ok((val(d, 'kiwi_pam_decisions_total', { outcome: 'booked', allow: 'true' }) ?? 0) >= 1);
    const cleanups0 = val(d, 'kiwi_cleanup_duration_seconds_count') ?? 0;
    const p = sleeper(user);
    await waitFor(() => livePids(user).length > 0, { what: 'the user\'s process' });

    o = await waitFor(async () => {
      const s = await scrape(opPort);
      return val(s, 'kiwi_bookings', { phase: 'Active' }) === 0 && val(s, 'kiwi_bookings', { phase: 'Expired' }) === 1 ? s : undefined;
    }, { timeoutMs: 20_000, what: 'kiwi_bookings{phase="Active"} back to 0, Expired 1' });
    assert.ok(val(o, 'kiwi_transitions_total')! > startedTransitions, 'the expiry was counted');
    assert.ok((val(o, 'kiwi_transitions_total', { kind: 'Booking', transition: 'TimeLimit' }) ?? 0) >= 1);

    d = await waitFor(async () => {
      const s = await scrape(dPort);
      return (val(s, 'kiwi_cleanup_duration_seconds_count') ?? 0) > cleanups0 ? s : undefined;
    }, { timeoutMs: 20_000, what: 'the daemon\'s cleanup histogram count rising' });
    assert.equal(val(d, 'kiwi_cleanup_duration_seconds_count', { result: 'ok' }), 1);
    assert.ok((val(d, 'kiwi_processes_killed_total', { signal: 'sweep' }) ?? 0) >= 1);
    assert.equal(val(d, 'kiwi_cleanup_leftover_processes'), 0);
    assert.equal(val(d, 'kiwi_cleanup_failures_total'), 0);
    await waitFor(() => p.exitCode !== null || p.signalCode !== null, { what: 'the sleeper ended by the cleanup' });

    // PAM after the end: denied again, counted again. (The wait for "allow" above may have
    // been denied too, before the daemon saw the calendar: count from here.)
    const denied0 = val(d, 'kiwi_pam_decisions_total', { outcome: 'noBooking', allow: 'false' }) ?? 0;
    assert.match(await pamAsk(pamSocket, user.name), /^deny /);
    d = await scrape(dPort);
    assert.equal(val(d, 'kiwi_pam_decisions_total', { outcome: 'noBooking', allow: 'false' }), denied0 + 1);

    // SIGTERM: not ready any more (503 while stopping, or nothing listening once gone).
    for (const [proc, port] of [[op!.proc, opPort], [dmn!.proc, dPort]] as const) {
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      await waitFor(async () => (await status(port, '/readyz')) !== 200, { what: `/readyz on ${port} not 200 after SIGTERM` });
      assert.equal(await exited, 0);
      assert.equal(await status(port, '/healthz'), 'refused');
    }
  });
});

// A real cluster for kiwi-web's end-to-end tests: etcd (temp dir, free loopback port), the real
// operator, a simulated node daemon (kiwi-node-daemon --simulate N: N Ready nodes, nothing
// enforced), and the built kiwi-web on a free port; plus headless Debian chromium through
// playwright-core (never a downloaded browser). Everything is stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startEtcd, stopProc, type TestEtcd } from '../../helpers/etcd.js';
import { ensureBuilt, distScript, ROOT } from '../../helpers/build.js';
import { waitFor } from '../../helpers/wait.js';
import { startOperator, type OperatorProc } from '../../integration/operator/helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test', 'artifacts', 'web');
export const API = '/apis/kiwi.dev/v1alpha1';

export interface Web {
  url: string;
  proc: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

export async function startWeb(endpoint: string, extra: string[] = []): Promise<Web> {
  ensureBuilt();
  const proc = spawn(process.execPath, [distScript('kiwi-web'), '--endpoints', endpoint, '--listen', '127.0.0.1:0', '--log-level', 'info', ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH! } });
  const logs: string[] = [];
  let url = '';
  proc.stdout!.on('data', (d) => {
    const m = /calendar at (\S+)/.exec(String(d));
    if (m) url = m[1];
  });
  proc.stderr!.on('data', (d) => logs.push(...String(d).split('\n').filter(Boolean)));
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`kiwi-web exited ${proc.exitCode}: ${logs.join('\n')}`);
    return url;
  }, { timeoutMs: 15_000, what: 'kiwi-web to serve' });
  return { url: url.replace(/\/$/, ''), proc, logs, stop: () => stopProc(proc) };
}

export interface Cluster {
  etcd: TestEtcd;
  op: OperatorProc;
  sim: ChildProcess;
  web: Web;
  stop(): Promise<void>;
}

/** etcd + operator + `nodes` simulated nodes named n-0.. + kiwi-web. */
export async function startCluster(nodes: number, webArgs: string[] = []): Promise<Cluster> {
  ensureBuilt();
  const etcd = await startEtcd();
  const op = startOperator(etcd.endpoint, { id: 'web-test', leaseTtl: 1, logLevel: 'warn' });
  const sim = spawn(process.execPath, [distScript('kiwi-node-daemon'), '--simulate', String(nodes), '--node-name', 'n', '--endpoints', etcd.endpoint, '--lease-ttl', '1', '--metrics-addr', 'none', '--log-level', 'warn'], { stdio: 'ignore' });
  const store = etcd.store();
  await waitFor(async () => (await store.list('Node')).filter((n) => n.status?.phase === 'Ready').length === nodes, { timeoutMs: 20_000, what: `${nodes} simulated nodes Ready` });
  const web = await startWeb(etcd.endpoint, webArgs);
  const cluster: Cluster = {
    etcd, op, sim, web,
    async stop() {
      await web.stop();
      await stopProc(sim);
      await cluster.op.stop(); // the one running now: a test may have replaced it
      await etcd.stop();
    },
  };
  return cluster;
}

/** kiwictl as users run it (root: an admin, so -u books for another user). */
export function kiwictl(endpoint: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [distScript('kiwictl'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH!, KIWI_ENDPOINTS: endpoint, HOME: process.env.HOME ?? '/root' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: bash scripts/install-deps.sh installs Debian's chromium`;
}

/** Headless Debian chromium with a fresh profile; the profile dir goes with close(). */
export async function launchBrowser(): Promise<{ ctx: BrowserContext; page: Page; close(): Promise<void> }> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const profile = mkdtempSync(join(tmpdir(), 'kiwitest-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 640 },
    timezoneId: 'UTC',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  return {
    ctx, page,
    async close() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Logs in through the API: a bearer token (dev login: by name). */
export async function token(url: string, user: string, password?: string): Promise<string> {
  const r = await fetch(`${url}/web/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password, token: true }) });
  if (!r.ok) throw new Error(`login of ${user}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

export const booking = (user: string, spec: Record<string, unknown>, name?: string) => ({
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { namespace: user, ...(name ? { name } : {}) }, spec: { user, ...spec },
});

/** A watch as a script reads it (newline-delimited JSON): the events so far, and stop(). */
export async function watchLines(url: string): Promise<{ events: any[]; stop(): Promise<void> }> {
  const ac = new AbortController();
  const r = await fetch(url, { signal: ac.signal });
  const reader = r.body!.getReader();
  const events: any[] = [];
  let buf = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += Buffer.from(value!).toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) events.push(JSON.parse(line));
      }
    }
  })();
  return { events, stop: async () => (ac.abort(), await pump) };
}

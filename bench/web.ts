// Bench: kiwi-web's calendar in headless Debian chromium. First render of 1,000 nodes by a week
// (about 3,000 bookings: Active, planned and ended), from navigation to the drawn, live page,
// next to the same page over an empty cluster (the floor: loading the page and its watches).
// Then one booking changed in etcd: how long until the page shows it, and how many elements
// the page replaced (one booking's bars, not the world).
// The comparison: the same reads through etcdctl (whole process, in the same run): the
// first render next to etcdctl reading every node and booking (spec and status) the page draws,
// and the HTTP API's list of 10,000 bookings (curl, whole process) next to etcdctl reading
// those bookings' specs and statuses.
// Goals: first render < 1 s; change shown < 1 s; elements replaced per change <= bars of that booking.
// Run: npx tsx bench/web.ts [nodes]
import { startEtcd, type TestEtcd } from '../test/helpers/etcd.js';
import { launchBrowser, startWeb, type Web } from '../test/e2e/web/harness.js';
import { median } from './stats.js';
import { waitFor } from '../test/helpers/wait.js';
import { record } from './record.js';
import { keys, type Booking, type Node } from '../crds/api/index.js';
import { timeProcess } from './time-process.js';

const NODES = Number(process.argv[2] ?? 1000);
const RUNS = 5;
const API_BOOKINGS = 10_000;
const H = 3_600_000;
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

type Phase = 'Expired' | 'Active' | 'Pending';
async function putBooking(store: ReturnType<TestEtcd['store']>, node: string, name: string, user: string, phase: Phase, s: number, e: number): Promise<void> {
  const b: Booking = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: user }, spec: { user, nodes: [node], duration: Math.round((e - s) / 1000) } };
  await store.create(b);
  await store.updateStatus({ kind: 'Booking', namespace: user, name }, { phase, reason: phase === 'Active' ? 'Started' : phase === 'Pending' ? 'Queued' : 'TimeLimit', nodes: [node], startTime: iso(s), endTime: iso(e) });
}

async function inBatches(jobs: (() => Promise<unknown>)[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 32) await Promise.all(jobs.slice(i, i + 32).map((j) => j()));
}

/** etcdctl, whole process, reading the specs and statuses of `kinds` in one transaction (as the server's informers read them). */
function etcdctlRead(endpoint: string, kinds: ('Node' | 'Booking')[]) {
  const gets = kinds.flatMap((k) => [`get --prefix ${keys.specPrefix(k)}`, `get --prefix ${keys.statusPrefix(k)}`]);
  return timeProcess('etcdctl', ['--endpoints', endpoint, 'txn'], { PATH: process.env.PATH, ETCDCTL_API: '3' }, { input: `\n${gets.join('\n')}\n\n\n` });
}

async function fill(etcd: TestEtcd, nodes: number): Promise<void> {
  const store = etcd.store();
  const now = Date.now();
  const jobs: (() => Promise<unknown>)[] = [];
  for (let i = 0; i < nodes; i++) {
    const name = `node-${String(i).padStart(4, '0')}`;
    jobs.push(async () => {
      const n: Node = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name, labels: { rack: `r${i % 20}` } }, spec: { address: `10.0.${i >> 8}.${i & 255}`, ...(i % 50 === 0 ? { unschedulable: true } : {}) } };
      await store.create(n);
      await store.updateStatus({ kind: 'Node', name }, { phase: 'Ready' });
      // an ended, an active and a planned booking per node, spread over the week
      const slots: [string, Phase, number, number][] = [
        ['e', 'Expired', now - (24 + (i % 48)) * H, now - (20 + (i % 48)) * H], ['a', 'Active', now - H, now + (1 + (i % 5)) * H], ['p', 'Pending', now + 8 * H, now + (10 + (i % 24)) * H],
      ];
      for (const [suffix, phase, s, e] of slots) await putBooking(store, name, `${name}-${suffix}`, `user${(i * 7 + suffix.charCodeAt(0)) % 40}`, phase, s, e);
    });
  }
  await inBatches(jobs);
}

async function firstRenders(web: Web): Promise<{ ms: number[]; bars: number; drawMs: number[] }> {
  const b = await launchBrowser();
  try {
    const ms: number[] = [];
    const drawMs: number[] = [];
    let bars = 0;
    for (let r = 0; r < RUNS; r++) {
      await b.page.goto('about:blank');
      await b.page.goto(web.url + '/');
      await b.page.waitForSelector('body[data-live="true"]', { timeout: 30_000 });
      // from the start of navigation to the end of the first full draw
      ms.push(await b.page.evaluate('performance.now()') as number);
      drawMs.push(Number(await b.page.getAttribute('body', 'data-render-ms')));
      bars = (await b.page.$$('.bar')).length;
    }
    return { ms, bars, drawMs };
  } finally {
    await b.close();
  }
}

const etcd = await startEtcd();
const empty = await startEtcd();
let web: Web | undefined;
let emptyWeb: Web | undefined;
try {
  const t0 = Date.now();
  await fill(etcd, NODES);
  console.log(`wrote ${NODES} nodes and ${3 * NODES} bookings in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  web = await startWeb(etcd.endpoint);
  emptyWeb = await startWeb(empty.endpoint);
  const full = await firstRenders(web);
  const floor = await firstRenders(emptyWeb);
  const [m, f] = [median(full.ms), median(floor.ms)];
  console.log(`first render, ${NODES} nodes, week view, ${full.bars} bars: median ${m.toFixed(0)} ms (runs ${full.ms.map((x) => x.toFixed(0)).join(' ')}; the draw itself ${median(full.drawMs)} ms)`);
  console.log(`the same page over an empty cluster (floor): median ${f.toFixed(0)} ms`);
  record({ bench: 'web', figure: `first render of ${NODES} nodes by a week (${full.bars} bars), navigation to drawn (median)`, value: m, unit: 'ms', peer: 'the same page, empty cluster', peerValue: f, goal: 'value < 1000', met: m < 1000 });
  // the same data read through etcdctl: every node and booking, spec and status
  const ctlRender = median(Array.from({ length: RUNS }, () => etcdctlRead(etcd.endpoint, ['Node', 'Booking']).ms));
  console.log(`etcdctl txn reading the same ${NODES} nodes and ${3 * NODES} bookings (spec and status): median ${ctlRender.toFixed(0)} ms`);
  record({ bench: 'web', figure: `first render of ${NODES} nodes by a week, navigation to drawn (median), next to etcdctl`, value: m, unit: 'ms', peer: `etcdctl txn: get --prefix of the ${NODES} nodes' and ${3 * NODES} bookings' specs and statuses (whole process)`, peerValue: ctlRender });

  // One change: a booking made longer in etcd; time to the page, and what the page replaced.
  const b = await launchBrowser();
  try {
    await b.page.goto(web.url + '/');
    await b.page.waitForSelector('body[data-live="true"]', { timeout: 30_000 });
    const store = etcd.store();
    const times: number[] = [];
    let replaced = 0;
    let total = 0;
    for (let r = 0; r < RUNS; r++) {
      const name = `node-${String(r * 7).padStart(4, '0')}-a`;
      const [bk] = (await store.list('Booking')).filter((x) => x.metadata.name === name);
      const end = Date.now() + (6 + r) * H;
      await b.page.evaluate(`(() => {
        window.__added = 0; window.__removed = 0;
        window.__obs?.disconnect();
        window.__obs = new MutationObserver((ms) => { for (const m of ms) { window.__added += m.addedNodes.length; window.__removed += m.removedNodes.length; } });
        window.__obs.observe(document.getElementById('lanes'), { childList: true, subtree: true });
      })()`);
      const t = Date.now();
      await store.updateStatus({ kind: 'Booking', namespace: bk.metadata.namespace!, name }, { ...bk.status!, endTime: iso(end) });
      // a function, not a string: the page's CSP forbids eval
      await b.page.waitForFunction(([key, hhmm]) => document.querySelector(`.bar[data-key="${key}"]`)?.getAttribute('aria-label')?.includes(hhmm) ?? false, [`${bk.metadata.namespace}/${name}`, new Date(end).toISOString().slice(11, 16)], { timeout: 10_000, polling: 'raf' });
      times.push(Date.now() - t);
      replaced = Math.max(replaced, (await b.page.evaluate('window.__added + window.__removed')) as number);
      total = (await b.page.$$('#lanes *')).length;
    }
    const mt = median(times);
    console.log(`a booking changed in etcd to the page showing it: median ${mt} ms (runs ${times.join(' ')}); elements added+removed per change at most ${replaced} of ${total} under the calendar`);
    record({ bench: 'web', figure: 'a booking changed in etcd, shown on an open page (median)', value: mt, unit: 'ms', peer: 'goal', peerValue: 1000, goal: 'value < 1000', met: mt < 1000 });
    record({ bench: 'web', figure: 'elements the page added and removed for one booking change', value: replaced, unit: 'elements', peer: 'elements under the calendar', peerValue: total, goal: 'value <= 2', met: replaced <= 2 });
  } finally {
    await b.close();
  }

  // The HTTP API's list of 10,000 bookings (all namespaces), through curl, next to etcdctl.
  const store = etcd.store();
  const have = 3 * NODES;
  const now = Date.now();
  await inBatches(Array.from({ length: Math.max(0, API_BOOKINGS - have) }, (_, i) => () =>
    putBooking(store, `node-${String(i % NODES).padStart(4, '0')}`, `old-${i}`, `user${i % 40}`, 'Expired', now - (200 + i) * H, now - (199 + i) * H)));
  const listUrl = `${web.url}/apis/kiwi.dev/v1alpha1/bookings`;
  const count = async () => ((await (await fetch(listUrl)).json()) as { items: unknown[] }).items.length;
  await waitFor(async () => (await count()) === Math.max(have, API_BOOKINGS), { what: `kiwi-web to list ${API_BOOKINGS} bookings`, timeoutMs: 120_000, intervalMs: 500 });
  const api: number[] = [];
  const ctl: number[] = [];
  for (let r = 0; r < 2 * RUNS; r++) {
    // interleaved, so that a noisy moment hurts both alike
    api.push(timeProcess('curl', ['-sSf', listUrl], { PATH: process.env.PATH }).ms);
    ctl.push(etcdctlRead(etcd.endpoint, ['Booking']).ms);
  }
  const [ma, mc] = [median(api), median(ctl)];
  console.log(`API list of ${API_BOOKINGS} bookings (curl ${listUrl}, whole process): median ${ma.toFixed(0)} ms; etcdctl txn of their specs and statuses: median ${mc.toFixed(0)} ms (${(ma / mc).toFixed(2)}x)`);
  record({ bench: 'web', figure: `HTTP API list of ${API_BOOKINGS} bookings, all namespaces (curl, whole process, median)`, value: ma, unit: 'ms', peer: `etcdctl txn: get --prefix of the ${API_BOOKINGS} bookings' specs and statuses (whole process)`, peerValue: mc });
} finally {
  await web?.stop();
  await emptyWeb?.stop();
  await etcd.stop();
  await empty.stop();
}

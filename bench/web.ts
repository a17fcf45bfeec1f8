// Bench: kiwi-web's calendar in headless Debian chromium. First render of 1,000 nodes by a week
// (about 3,000 bookings: Active, planned and ended), from navigation to the drawn, live page,
// next to the same page over an empty cluster (the floor: loading the page and its watches).
// Then one booking changed in etcd: how long until the page shows it, and how many elements
// the page replaced (one booking's bars, not the world).
// Goals: first render < 1 s; change shown < 1 s; elements replaced per change <= bars of that booking.
// Run: npx tsx bench/web.ts [nodes]
import { startEtcd, type TestEtcd } from '../test/helpers/etcd.js';
import { launchBrowser, startWeb, type Web } from '../test/e2e/web/harness.js';
import { median } from './stats.js';
import { record } from './record.js';
import type { Booking, Node } from '../crds/api/index.js';

const NODES = Number(process.argv[2] ?? 1000);
const RUNS = 5;
const H = 3_600_000;
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

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
      const slots: [string, 'Expired' | 'Active' | 'Pending', number, number][] = [
        ['e', 'Expired', now - (24 + (i % 48)) * H, now - (20 + (i % 48)) * H], ['a', 'Active', now - H, now + (1 + (i % 5)) * H], ['p', 'Pending', now + 8 * H, now + (10 + (i % 24)) * H],
      ];
      for (const [suffix, phase, s, e] of slots) {
        const user = `user${(i * 7 + suffix.charCodeAt(0)) % 40}`;
        const b: Booking = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: `${name}-${suffix}`, namespace: user }, spec: { user, nodes: [name], duration: Math.round((e - s) / 1000) } };
        await store.create(b);
        await store.updateStatus({ kind: 'Booking', namespace: user, name: `${name}-${suffix}` }, { phase, reason: phase === 'Active' ? 'Started' : phase === 'Pending' ? 'Queued' : 'TimeLimit', nodes: [name], startTime: iso(s), endTime: iso(e) });
      }
    });
  }
  for (let i = 0; i < jobs.length; i += 32) await Promise.all(jobs.slice(i, i + 32).map((j) => j()));
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
} finally {
  await web?.stop();
  await emptyWeb?.stop();
  await etcd.stop();
  await empty.stop();
}

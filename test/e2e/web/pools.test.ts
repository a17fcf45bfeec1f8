// The calendar's pool filter lists the Pool objects and shows a pool's nodes by crds/api/pool.ts's
// inPool, the operator's rule (headless Debian chromium, real cluster). Pools are made as an admin
// makes them, with kiwictl apply, and one by a raw etcd write; each change shows without a reload.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { keys } from '../../../crds/api/keys.js';
import { waitFor } from '../../helpers/wait.js';
import { artifact, chromiumMissing, kiwictl, launchBrowser, startCluster, type Cluster } from './harness.js';

describe('the calendar\'s pool filter, from Pool objects (headless chromium, real cluster)', function () {
  this.timeout(120_000);
  let c: Cluster;
  let b: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let dir: string;

  const run = (args: string[]) => {
    const r = kiwictl(c.etcd.endpoint, args);
    assert.equal(r.code, 0, `kiwictl ${args.join(' ')}: ${r.stderr}`);
  };
  /** kiwictl apply -f of one Pool. */
  const applyPool = (name: string, nodeSelector: string) => {
    const f = join(dir, `${name}.yaml`);
    writeFileSync(f, `apiVersion: kiwi.dev/v1alpha1\nkind: Pool\nmetadata:\n  name: ${name}\nspec:\n  nodeSelector: "${nodeSelector}"\n`);
    run(['apply', '-f', f]);
  };
  const rows = () => page.$$eval('.lane', (ls) => ls.map((l) => (l as HTMLElement).dataset.node).join());
  const options = () => page.$$eval('#f-pool option', (os) => os.map((o) => `${(o as HTMLOptionElement).value}:${o.textContent}`).join());
  const waitRows = (want: string, what: string) => waitFor(async () => (await rows()) === want, { what: `${what}: rows ${want}` });

  before(async function () {
    const missing = chromiumMissing();
    if (missing) throw new Error(missing); // npm test installs it: a missing browser is a failure, not a skip
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-web-pools-'));
    c = await startCluster(4);
    run(['label', 'node', 'n-0', 'gpu=a100']);
    run(['label', 'node', 'n-1', 'gpu=a100', 'rack=r2']);
    run(['label', 'node', 'n-3', 'rack=r2']);
    run(['label', 'node', 'n-2', 'kiwi.dev/pool=gpu']); // the page's old stand-in for pools: no longer read
    b = await launchBrowser();
    page = b.page;
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(c.web.url + '/');
    await page.waitForSelector('body[data-live="true"]');
    await waitRows('n-0,n-1,n-2,n-3', 'every node before any pool');
  });
  after(async () => {
    await b?.close();
    await c?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has nothing to choose without Pool objects, and a node label alone makes no pool', async () => {
    assert.equal(await options(), ':any pool', 'n-2\'s kiwi.dev/pool label offers nothing');
    assert.equal(await page.$eval('#f-pool', (s) => (s as HTMLSelectElement).disabled), true);
  });

  it('lists a Pool made by kiwictl apply, live, and shows only its nodes when chosen', async () => {
    applyPool('gpu', 'gpu=a100');
    await waitFor(async () => (await options()) === ':any pool,gpu:gpu', { what: 'the gpu pool offered without a reload' });
    assert.equal(await page.$eval('#f-pool', (s) => (s as HTMLSelectElement).disabled), false);
    await page.selectOption('#f-pool', 'gpu');
    await waitRows('n-0,n-1', 'the gpu pool chosen (not n-2, labelled kiwi.dev/pool=gpu)');
    await page.screenshot({ path: artifact('pool-filter.png') });
  });

  it('follows a changed selector while the pool is chosen, without a reload', async () => {
    const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    applyPool('gpu', 'rack in (r2)');
    await waitRows('n-1,n-3', 'the new selector of gpu');
    applyPool('gpu', 'gpu=a100,!rack');
    await waitRows('n-0', 'a selector with a negation');
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), loads, 'no reload');
  });

  it('offers a Pool written straight into etcd, ignores a malformed one, and falls back to any pool when the chosen one is deleted', async () => {
    const raw = c.etcd.client();
    await raw.put(keys.spec({ kind: 'Pool', name: 'all' })).value(JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'all' }, spec: { nodeSelector: '', default: true } }));
    await raw.put(keys.spec({ kind: 'Pool', name: 'bad' })).value('{"apiVersion":"kiwi.dev/v1alpha1","kind":"Pool","metadata":{"name":"<img src=x onerror=alert(1)>"}');
    await waitFor(async () => (await options()) === ':any pool,all:all (default),gpu:gpu', { what: 'the raw-written pool offered, the malformed one not' });
    await waitRows('n-0', 'gpu still chosen');
    run(['delete', 'pool', 'gpu']);
    await waitFor(async () => (await options()) === ':any pool,all:all (default)', { what: 'gpu gone from the choices' });
    assert.equal(await page.$eval('#f-pool', (s) => (s as HTMLSelectElement).value), '');
    await waitRows('n-0,n-1,n-2,n-3', 'any pool again');
    await page.selectOption('#f-pool', 'all');
    await waitRows('n-0,n-1,n-2,n-3', 'the empty selector: every node');
  });
});

// The booking panel never covers the timeline (headless Debian chromium, real cluster). It once
// was fixed over the right of the page, so the bars of the coming hours lay under it, at some
// times of day, and a pointer could not reach them. Here: at several viewport sizes the panel
// and the calendar do not overlap, and a pointer click reaches a bar at the right edge of the
// visible range while a panel is open. The bars are placed relative to the visible range of
// tomorrow's day view (all of it in the future at any time of day), never by the wall clock.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Booking } from '../../../crds/api/types.js';
import { waitFor } from '../../helpers/wait.js';
import { artifact, booking, chromiumMissing, launchBrowser, startCluster, type Cluster } from './harness.js';

const ALICE = 'kiwitest-alice';
const CAROL = 'kiwitest-carol';
const MIN = 60_000;
const HOUR = 60 * MIN;
const LABEL_W = 150; // the sticky node labels (style.css --label) and the axis over the grid
const AXIS_H = 28;

interface Box { left: number; top: number; right: number; bottom: number }
const overlap = (a: Box, b: Box) => Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
const show = (b: Box) => `[${Math.round(b.left)},${Math.round(b.top)} to ${Math.round(b.right)},${Math.round(b.bottom)}]`;

describe('the booking panel beside the calendar, never over it (headless chromium, real cluster)', function () {
  this.timeout(120_000);
  let c: Cluster;
  let b: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;

  before(async function () {
    const missing = chromiumMissing();
    if (missing) throw new Error(missing); // npm test installs it: a missing browser is a failure, not a skip
    c = await startCluster(4);
    b = await launchBrowser();
    page = b.page;
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(c.web.url + '/');
    await page.waitForSelector('body[data-live="true"]');
    await page.fill('#login-form input[name="user"]', ALICE);
    await page.click('#login-form button[type="submit"]');
    await page.waitForSelector('#new:not([hidden])');
  });
  after(async () => {
    await b?.close();
    await c?.stop();
  });

  /** Tomorrow's day view, fitted to the current viewport. */
  const tomorrow = async () => {
    await page.click('[data-view="day"]');
    const today = await page.getAttribute('body', 'data-from');
    await page.click('#next');
    await waitFor(async () => (await page.getAttribute('body', 'data-from')) !== today, { what: 'the next day drawn' });
  };

  /** What is on screen: the calendar's box, the part of the grid in view, the panel's box, the scale. */
  const geometry = () =>
    // (no named functions inside: the test runner's transpiler would add helpers the page lacks)
    page.evaluate(([labelW, axisH]) => {
      const cal = document.getElementById('cal')!;
      const panel = document.getElementById('panel')!;
      const [c, p] = [cal, panel].map((e) => e.getBoundingClientRect()).map((r) => ({ left: r.left, top: r.top, right: r.right, bottom: r.bottom }));
      return {
        cal: c,
        // inside the scrollbars, past the sticky labels and axis
        grid: { left: c.left + labelW, top: c.top + axisH, right: c.left + cal.clientWidth, bottom: c.top + cal.clientHeight },
        panel: panel.hidden ? undefined : p,
        lanesLeft: document.getElementById('lanes')!.getBoundingClientRect().left,
        from: Number(document.body.dataset.from),
        pxPerHour: Number(document.body.dataset.pxPerHour),
        viewport: { width: innerWidth, height: innerHeight },
      };
    }, [LABEL_W, AXIS_H] as const);
  type Geometry = Awaited<ReturnType<typeof geometry>>;
  const timeAt = (g: Geometry, x: number) => g.from + ((x - g.lanesLeft) / g.pxPerHour) * HOUR;

  /** A fixed reservation of 30 minutes that ends about 5 minutes before `end`, planned by the operator and drawn. */
  const reserveEndingAt = async (name: string, node: string, end: number) => {
    const at = Math.floor((end - 5 * MIN) / MIN) * MIN - 30 * MIN;
    const store = c.etcd.store();
    await store.create(booking(CAROL, { nodes: [node], start: new Date(at).toISOString().replace(/\.\d+Z$/, 'Z'), duration: 1800 }, name) as Booking);
    await waitFor(async () => (await store.get({ kind: 'Booking', namespace: CAROL, name }))?.status?.phase === 'Pending', { what: `${name} planned` });
    const sel = `.bar[data-key="${CAROL}/${name}"]`;
    await page.waitForSelector(sel);
    return sel;
  };
  const barBox = async (sel: string): Promise<Box> => {
    const r = (await page.locator(sel).boundingBox())!;
    return { left: r.x, top: r.y, right: r.x + r.width, bottom: r.y + r.height };
  };
  /** A real pointer click at a point; first: the bar is what the pointer hits there. */
  const clickAt = async (sel: string, x: number, y: number) => {
    const hit = await page.evaluate(([px, py]) => {
      const e = document.elementFromPoint(px, py);
      return (e?.closest('.bar') as HTMLElement | null)?.dataset.key ?? `${e?.tagName}#${e?.id}.${e?.className}`;
    }, [x, y] as const);
    assert.equal(hit, (await page.getAttribute(sel, 'data-key'))!, `the pointer at ${Math.round(x)},${Math.round(y)} hits the bar`);
    await page.mouse.click(x, y);
  };

  const SIZES = [
    { width: 1400, height: 640 },
    { width: 1920, height: 1080 },
    { width: 1024, height: 768 },
    { width: 800, height: 600 }, // narrow: the panel is a sheet below the calendar
    { width: 420, height: 800 },
  ];

  for (const size of SIZES)
    it(`at ${size.width}x${size.height} the open panel and the calendar grid do not overlap`, async () => {
      await page.setViewportSize(size);
      await tomorrow();
      await page.click('#new');
      await page.waitForSelector('#panel:not([hidden]) #f-nodes');
      const g = await geometry();
      const p = g.panel!;
      assert.equal(overlap(p, g.cal), 0, `panel ${show(p)} overlaps the calendar ${show(g.cal)}`);
      for (const box of [p, g.cal]) {
        assert.ok(box.left >= 0 && box.top >= 0 && box.right <= g.viewport.width + 0.5 && box.bottom <= g.viewport.height + 0.5, `${show(box)} inside the ${size.width}x${size.height} viewport`);
      }
      assert.ok(g.grid.right - g.grid.left >= 200, `at least 200 px of timeline in view beside the panel, got ${show(g.grid)}`);
      assert.ok(g.grid.bottom - g.grid.top >= 2 * 26, `at least two rows in view with the panel open, got ${show(g.grid)}`);
      await page.screenshot({ path: artifact(`panel-${size.width}x${size.height}.png`) });
      await page.keyboard.press('Escape');
      await page.waitForSelector('#panel', { state: 'hidden' });
    });

  for (const [i, size] of [SIZES[0], SIZES[3]].entries())
    it(`at ${size.width}x${size.height} a pointer click reaches a bar at the right edge of the visible range, before and while a panel is open`, async () => {
      await page.setViewportSize(size);
      await tomorrow();
      // (1) the panel closed: a bar that ends at the right edge of what is in view
      let g = await geometry();
      assert.equal(g.panel, undefined);
      const first = await reserveEndingAt(`edge-${i}-a`, `n-${2 * i}`, Math.min(timeAt(g, g.grid.right), g.from + 24 * HOUR));
      let bar = await barBox(first);
      assert.ok(g.grid.right - bar.right < 0.1 * (g.grid.right - g.grid.left), `the bar ${show(bar)} lies at the right edge of ${show(g.grid)}`);
      await clickAt(first, bar.right - 3, (bar.top + bar.bottom) / 2);
      await page.waitForSelector(`#panel h2:text-is("${CAROL}/edge-${i}-a")`);
      // the panel took its room and the bar is still in view, beside it
      g = await geometry();
      bar = await barBox(first);
      assert.equal(overlap(bar, g.panel!), 0, `the bar ${show(bar)} is not under the panel ${show(g.panel!)}`);
      assert.ok(overlap(bar, g.grid) > 0, `the bar ${show(bar)} is in view in ${show(g.grid)}`);
      // (2) the panel open: a bar at the right edge of the narrower range in view
      const second = await reserveEndingAt(`edge-${i}-b`, `n-${2 * i + 1}`, Math.min(timeAt(g, g.grid.right), g.from + 24 * HOUR));
      bar = await barBox(second);
      assert.ok(overlap(bar, g.grid) > 0, `the bar ${show(bar)} is in view in ${show(g.grid)}`);
      assert.ok(bar.right <= g.grid.right && g.grid.right - bar.right < 0.1 * (g.grid.right - g.grid.left), `the bar ${show(bar)} lies at the right edge of ${show(g.grid)}`);
      assert.equal(overlap(bar, g.panel!), 0, `the bar ${show(bar)} is not under the panel ${show(g.panel!)}`);
      await clickAt(second, bar.right - 3, (bar.top + bar.bottom) / 2);
      await page.waitForSelector(`#panel h2:text-is("${CAROL}/edge-${i}-b")`);
      await page.screenshot({ path: artifact(`panel-click-${size.width}x${size.height}.png`) });
      await page.keyboard.press('Escape');
    });
});

// The calendar in a real browser (headless Debian chromium through playwright-core) against a
// real cluster: etcd, the operator, a simulated node daemon, kiwi-web. What the CLI made shows;
// a slot is booked by mouse; another user's booking made by kiwictl meanwhile appears live; an
// overlapping drag is refused with the reason; keyboard use and contrast are checked.
// Screenshots go to test/artifacts/web/.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { waitFor } from '../../helpers/wait.js';
import { API, artifact, chromiumMissing, kiwictl, launchBrowser, startCluster, type Cluster } from './harness.js';

const ALICE = 'kiwitest-alice';
const BOB = 'kiwitest-bob';
const CAROL = 'kiwitest-carol';
const MIN = 60_000;

describe('the calendar page in headless chromium (real cluster)', function () {
  this.timeout(120_000);
  let c: Cluster;
  let b: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  const cli = (...args: string[]) => {
    const r = kiwictl(c.etcd.endpoint, args);
    assert.equal(r.code, 0, `kiwictl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    const missing = chromiumMissing();
    if (missing) throw new Error(missing); // npm test installs it (scripts/install-deps.sh): a missing browser is a failure, not a skip
    c = await startCluster(6);
    // What the CLI makes before the page opens: an Active booking, one planned after it, a fixed
    // reservation, a cordoned node and a node with reservable windows.
    cli('alloc', '-u', CAROL, '--no-user-check', '-w', 'n-0', '-t', '2h', '--name', 'c1');
    cli('alloc', '-u', CAROL, '--no-user-check', '-w', 'n-0', '-t', '1h', '--name', 'c2');
    cli('alloc', '-u', CAROL, '--no-user-check', '-w', 'n-1', '--start', new Date(Date.now() + 40 * MIN).toISOString().replace(/\.\d+Z$/, 'Z'), '-t', '30m', '--name', 'c3');
    cli('cordon', 'n-5');
    const store = c.etcd.store();
    const n4 = await store.mustGet({ kind: 'Node', name: 'n-4' });
    await store.update({ ...n4, spec: { ...n4.spec, reservableWindows: [{ start: '08:00', end: '18:00' }] } });
    await waitFor(async () => (await store.get({ kind: 'Booking', namespace: CAROL, name: 'c3' }))?.status?.phase === 'Pending', { what: 'c3 planned' });
    // a booking of last week, over (the record an Expired booking keeps)
    const lastWeek = Date.now() - 7 * 24 * 60 * MIN;
    await store.create({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name: 'old', namespace: CAROL }, spec: { user: CAROL, nodes: ['n-3'], duration: 7200 } });
    await store.updateStatus({ kind: 'Booking', namespace: CAROL, name: 'old' }, { phase: 'Expired', reason: 'TimeLimit', nodes: ['n-3'], startTime: new Date(lastWeek).toISOString(), endTime: new Date(lastWeek + 120 * MIN).toISOString() });
    b = await launchBrowser();
    page = b.page;
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  after(async () => {
    await b?.close();
    await c?.stop();
  });

  /** x of a time and y of a node's row, in page coordinates, from the drawn scale and now line. */
  const geometry = () =>
    page.evaluate(() => {
      const lanes = document.getElementById('lanes')!.getBoundingClientRect();
      const now = parseFloat(document.getElementById('now')!.style.left);
      const rows = Object.fromEntries([...document.querySelectorAll<HTMLElement>('.lane')].map((l) => [l.dataset.node, lanes.top + parseFloat(l.style.top) + 13]));
      return { left: lanes.left, pxPerHour: Number(document.body.dataset.pxPerHour), now, rows };
    });
  const xAt = (g: Awaited<ReturnType<typeof geometry>>, offsetMin: number) => g.left + g.now + (g.pxPerHour * offsetMin) / 60;
  const drag = async (node: string, fromMin: number, toMin: number) => {
    const g = await geometry();
    const y = g.rows[node];
    await page.mouse.move(xAt(g, fromMin), y);
    await page.mouse.down();
    await page.mouse.move(xAt(g, (fromMin + toMin) / 2), y, { steps: 3 });
    await page.mouse.move(xAt(g, toMin), y, { steps: 3 });
    await page.mouse.up();
  };
  const dayView = async () => {
    // the day view, unless the next hour crosses midnight (then the week view, zoomed in)
    if (new Date().getUTCHours() < 22) await page.click('[data-view="day"]');
    else {
      await page.click('[data-view="week"]');
      await page.click('#zoom-in');
      await page.click('#zoom-in');
    }
  };

  it('shows what the CLI made: active, planned, fixed, cordoned, windows; read-only before login', async () => {
    await page.goto(c.web.url + '/');
    await page.waitForSelector('body[data-live="true"]');
    assert.match(await page.textContent('#note') ?? '', /dev login/);
    assert.ok(await page.isHidden('#new'), 'no booking button before login');
    const cls = (key: string, node: string) => page.getAttribute(`.bar[data-key="${key}"][data-node="${node}"]`, 'class');
    assert.match((await cls(`${CAROL}/c1`, 'n-0'))!, /\bactive\b/);
    assert.match((await cls(`${CAROL}/c2`, 'n-0'))!, /\bplanned\b/);
    assert.match((await cls(`${CAROL}/c3`, 'n-1'))!, /\bplanned\b.*\bfixed\b|\bfixed\b.*\bplanned\b/);
    assert.match(await page.textContent('.label[data-node="n-5"] .badge') ?? '', /cordoned/);
    assert.ok((await page.$$('.lane[data-node="n-4"] .window')).length >= 1, 'reservable windows drawn');
    await page.hover(`.bar[data-key="${CAROL}/c2"]`);
    const tip = (await page.textContent('#tip')) ?? '';
    assert.match(tip, /kiwitest-carol\/c2/);
    assert.match(tip, /why it waits/);
    assert.match(tip, /after: kiwitest-carol\/c1/);
    await page.screenshot({ path: artifact('1-loaded.png') });
    // a drag without a login asks to log in and writes nothing
    await dayView();
    await drag('n-2', 5, 30);
    assert.match(await page.textContent('#panel') ?? '', /Log in to book/);
    await page.keyboard.press('Escape');
  });

  it('logs in, books a slot by mouse, sees the planned start first, then the booking appear', async () => {
    await page.fill('#login-form input[name="user"]', ALICE);
    await page.click('#login-form button[type="submit"]');
    await page.waitForSelector('#new:not([hidden])');
    await dayView();
    await drag('n-2', -10, 40);
    await page.waitForSelector('#preview.ok');
    // the leading operator's own answer (its server-side dry run), not the page's forecast
    assert.equal(await page.getAttribute('#preview', 'data-source'), 'operator');
    assert.match(await page.textContent('#preview') ?? '', /^The operator plans: Planned start: .* on n-2 /);
    assert.deepEqual(await page.$$eval('#f-nodes option:checked', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['n-2']);
    await page.click('#confirm');
    await page.waitForSelector('#preview[data-phase="Active"]');
    const key = await page.getAttribute('#preview', 'data-created');
    assert.ok(key?.startsWith(`${ALICE}/`));
    await page.waitForSelector(`.bar.mine.active[data-key="${key}"][data-node="n-2"]`);
    const stored = await c.etcd.store().get({ kind: 'Booking', namespace: ALICE, name: key!.split('/')[1] });
    assert.equal(stored?.status?.phase, 'Active');
    assert.ok(Math.abs(Number(stored!.spec.duration) - 40 * 60) <= 5 * 60, `about 40 minutes booked, got ${stored!.spec.duration} s`);
    await page.screenshot({ path: artifact('2-booked.png') });
  });

  it('shows another user\'s booking made by kiwictl meanwhile, live, without a reload', async () => {
    await page.evaluate(() => ((window as any).__sameDocument = true));
    const t0 = Date.now();
    cli('alloc', '-u', BOB, '--no-user-check', '-w', 'n-3', '-t', '1h', '--name', 'b1');
    await page.waitForSelector(`.bar.active[data-key="${BOB}/b1"]`, { timeout: 10_000 });
    console.log(`      kiwictl alloc to the bar on the page: ${Date.now() - t0} ms (including kiwictl's own start and wait for the operator)`);
    assert.equal(await page.evaluate(() => (window as any).__sameDocument), true, 'the page was not reloaded');
    assert.doesNotMatch((await page.getAttribute(`.bar[data-key="${BOB}/b1"]`, 'class'))!, /\bmine\b/);
  });

  it('refuses an overlapping drag with the reason, before anything is written', async () => {
    const before = (await c.etcd.store().list('Booking')).length;
    await page.keyboard.press('Escape');
    await drag('n-1', 20, 50); // over carol's fixed reservation at +40m
    await page.waitForSelector('#preview.refused');
    const text = (await page.textContent('#preview')) ?? '';
    assert.match(text, /Refused by the operator: .*node n-1 is booked by kiwitest-carol\/c3/);
    assert.ok(await page.isDisabled('#confirm'));
    await page.screenshot({ path: artifact('3-refused.png') });
    assert.equal((await c.etcd.store().list('Booking')).length, before);
    await page.keyboard.press('Escape');
  });

  it('shows the operator\'s refusal that only its planner knows: a booking longer than the node\'s reservable window', async () => {
    const before = (await c.etcd.store().list('Booking')).length;
    await page.click('#new');
    await page.waitForSelector('#f-nodes');
    await page.selectOption('#f-nodes', 'n-4'); // bookable 08:00-18:00 only
    await page.fill('#f-duration', '11h');
    await page.waitForSelector('#preview.refused');
    const text = (await page.textContent('#preview')) ?? '';
    assert.match(text, /Refused by the operator: .*node n-4 is bookable only within 08:00-18:00/);
    assert.equal(await page.getAttribute('#preview', 'data-source'), 'operator');
    assert.ok(await page.isDisabled('#confirm'));
    await page.screenshot({ path: artifact('3b-window-refused.png') });
    assert.equal((await c.etcd.store().list('Booking')).length, before);
    await page.keyboard.press('Escape');
  });

  it('extends, shortens (buttons and dragging its edge) and ends one\'s own booking', async () => {
    const mine = (await page.getAttribute('.bar.mine', 'data-key'))!;
    const name = mine.split('/')[1];
    const get = () => c.etcd.store().get({ kind: 'Booking', namespace: ALICE, name });
    const end0 = Date.parse((await get())!.status!.endTime!);
    await page.click(`.bar.mine[data-key="${mine}"]`);
    await page.click('#panel button:has-text("Extend +30m")');
    await waitFor(async () => Date.parse((await get())!.status!.endTime!) === end0 + 30 * MIN, { what: 'the booking 30 minutes longer' });
    await page.click('#panel button:has-text("Shorten −15m")');
    await waitFor(async () => Date.parse((await get())!.status!.endTime!) === end0 + 15 * MIN, { what: 'the booking 15 minutes shorter' });
    // drag the right edge of the bar half an hour further, the panel open beside the calendar
    const end1 = Date.parse((await get())!.status!.endTime!);
    await page.locator(`.bar.mine[data-key="${mine}"] .grip`).scrollIntoViewIfNeeded();
    const grip = (await page.locator(`.bar.mine[data-key="${mine}"] .grip`).boundingBox())!;
    const px = Number(await page.getAttribute('body', 'data-px-per-hour'));
    await page.mouse.move(grip.x + 3, grip.y + 5);
    await page.mouse.down();
    await page.mouse.move(grip.x + 3 + px / 4, grip.y + 5, { steps: 3 });
    await page.mouse.move(grip.x + 3 + px / 2, grip.y + 5, { steps: 3 });
    await page.mouse.up();
    await waitFor(async () => {
      const e = Date.parse((await get())!.status!.endTime!);
      return e >= end1 + 20 * MIN && e <= end1 + 40 * MIN;
    }, { what: 'the booking about 30 minutes longer after dragging its edge' });
    await page.click(`.bar.mine[data-key="${mine}"]`);
    await page.click('#panel button:has-text("End now")');
    await waitFor(async () => (await get())!.status?.reason === 'Cancelled', { what: 'the booking cancelled' });
    await page.waitForSelector(`.bar.expired[data-key="${mine}"]`);
    // kiwictl extend's rules (crds/api/extend.ts) on the page too: a shortening that would end a
    // booking in the past is refused with kiwictl's words, and nothing is written
    cli('alloc', '-u', ALICE, '--no-user-check', '-w', 'n-2', '-t', '10m', '--name', 'short');
    await page.click(`.bar.mine.active[data-key="${ALICE}/short"]`);
    const gen = (await c.etcd.store().get({ kind: 'Booking', namespace: ALICE, name: 'short' }))!.metadata.generation;
    await page.click('#panel button:has-text("Shorten −15m")');
    await page.waitForSelector('#change-result.refused');
    assert.match(await page.textContent('#change-result') ?? '', /^Refused: -t: 10m - 15m leaves no time; to end it now use kiwictl kill short$/);
    assert.equal((await c.etcd.store().get({ kind: 'Booking', namespace: ALICE, name: 'short' }))!.metadata.generation, gen, 'nothing written');
    await page.click('#panel button:has-text("End now")');
    await waitFor(async () => (await c.etcd.store().get({ kind: 'Booking', namespace: ALICE, name: 'short' }))?.status?.reason === 'Cancelled', { what: 'the short booking cancelled' });
    // someone else's booking offers no such buttons
    await page.click(`.bar[data-key="${BOB}/b1"]`);
    await page.waitForSelector(`#panel:has-text("${BOB}/b1")`);
    assert.equal(await page.$('#panel button:has-text("End now")'), null);
    await page.keyboard.press('Escape');
  });

  it('filters by user and label', async () => {
    await page.fill('#f-user', BOB);
    await waitFor(async () => (await page.$$eval('.lane', (ls) => ls.map((l) => (l as HTMLElement).dataset.node))).join() === 'n-3', { what: 'only n-3 shown' });
    await page.fill('#f-user', '');
    await page.fill('#f-label', 'no-such-label=x');
    await waitFor(async () => (await page.$$('.lane')).length === 0, { what: 'no node shown' });
    await page.fill('#f-label', '');
    await waitFor(async () => (await page.$$('.lane')).length === 6, { what: 'all nodes back' });
  });

  it('can be used by keyboard: Tab reaches a booking, Enter opens it, Escape closes; the form is reachable', async () => {
    await page.click('h1');
    let onBar = false;
    for (let i = 0; i < 80 && !onBar; i++) {
      await page.keyboard.press('Tab');
      onBar = await page.evaluate(() => document.activeElement?.classList.contains('bar') ?? false);
    }
    assert.ok(onBar, 'a booking is reachable with Tab');
    const key = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key);
    assert.ok(await page.isVisible('#tip'), 'focus shows the tooltip');
    await page.keyboard.press('Enter');
    assert.equal(await page.textContent('#panel h2'), key);
    await page.keyboard.press('Escape');
    assert.ok(await page.isHidden('#panel'));
    await page.focus('#new');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#f-nodes');
    await page.focus('#f-duration');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('25m');
    await page.waitForSelector('#preview.ok');
    await page.keyboard.press('Escape');
  });

  it('keeps text readable: every text color against its background is at least 4.5:1', async () => {
    // A string, not a function: the test runner's transpiler adds helpers a page does not have.
    const worst: { count: number; worst: { text: string; ratio: number }[] } = await page.evaluate(`(() => {
      const rgb = (css) => {
        const probe = document.createElement('div');
        probe.style.color = css;
        document.body.appendChild(probe);
        const m = getComputedStyle(probe).color.match(/[\\d.]+/g).map(Number);
        probe.remove();
        return [m[0], m[1], m[2], m[3] ?? 1];
      };
      const lum = ([r, g, b]) => {
        const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const ratio = (a, b) => {
        const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
        return (x + 0.05) / (y + 0.05);
      };
      const bgOf = (e) => {
        const barColor = e.closest('.bar') ? getComputedStyle(e.closest('.bar')).getPropertyValue('--c') : '';
        if (barColor) {
          const c = rgb(barColor);
          return e.closest('.bar.expired') ? c.map((v, i) => (i < 3 ? v * 0.45 + 0x55 * 0.55 : v)) : c;
        }
        for (let x = e; x; x = x.parentElement) {
          const c = getComputedStyle(x).backgroundColor.match(/[\\d.]+/g)?.map(Number);
          if (c && (c[3] ?? 1) > 0.5) return c;
        }
        return [255, 255, 255];
      };
      const out = [];
      for (const e of document.querySelectorAll('.bar, .label .name, .label .badge, .tick, #note, .legend li, button, #range, #count, .who, input, select')) {
        if (!e.offsetParent && e.id !== 'note') continue;
        const fg = rgb(getComputedStyle(e).color);
        out.push({ text: \`\${e.tagName}.\${e.className} \${(e.textContent ?? '').slice(0, 30)}\`, ratio: ratio(fg, bgOf(e)) });
      }
      out.sort((a, b) => a.ratio - b.ratio);
      return { count: out.length, worst: out.slice(0, 3) };
    })()`);
    console.log(`      ${worst.count} text elements; lowest contrast ${worst.worst[0].ratio.toFixed(2)}:1 (${worst.worst[0].text.trim()})`);
    assert.ok(worst.count > 20);
    for (const w of worst.worst) assert.ok(w.ratio >= 4.5, `${w.text}: contrast ${w.ratio.toFixed(2)}:1 is below 4.5:1`);
  });

  it('shows the week, scrolls back to last week\'s ended booking, and zooms', async () => {
    await page.click('[data-view="week"]');
    const weekTitle = await page.textContent('#range');
    assert.match(weekTitle ?? '', /^week of/);
    assert.equal(await page.$(`.bar[data-key="${CAROL}/old"]`), null, 'last week\'s booking is not in this week');
    await page.click('#prev');
    assert.notEqual(await page.textContent('#range'), weekTitle);
    await page.waitForSelector(`.bar.expired[data-key="${CAROL}/old"][data-node="n-3"]`);
    await page.click('#zoom-in');
    await page.waitForSelector(`.bar.expired[data-key="${CAROL}/old"]`);
    await page.click('#today');
    assert.equal(await page.textContent('#range'), weekTitle);
    await page.screenshot({ path: artifact('4-week.png') });
    const api = (await (await fetch(`${c.web.url}${API}/bookings`)).json()) as any;
    assert.ok(api.items.length >= 5);
  });
});

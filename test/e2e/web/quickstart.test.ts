// The "done when": a newcomer runs the quickstart, opens the calendar it prints, sees the
// demo booking go Pending, Active, Expired live, and books the node from the page. The real
// quickstart (root: it creates kiwitest-demo), KIWI_QUICKSTART_STAY=1 to keep it up at the end,
// headless Debian chromium; the quickstart is stopped with SIGTERM (its trap stops what it started).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ROOT } from '../../helpers/build.js';
import { stopProc } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { artifact, chromiumMissing, launchBrowser } from './harness.js';

describe('the quickstart\'s calendar in a browser', function () {
  this.timeout(240_000);

  it('shows the demo booking go Pending, Active, Expired live, then books the node from the page', async function () {
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: the quickstart creates a user and must run as root)');
      this.skip();
    }
    const missing = chromiumMissing();
    if (missing) throw new Error(missing);
    const qs = spawn('bash', ['scripts/quickstart.sh'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KIWI_QUICKSTART_STAY: '1', KIWI_WEB_PORT: '0' } });
    let text = '';
    qs.stdout.on('data', (d) => (text += d));
    qs.stderr.on('data', (d) => (text += d));
    const b = await launchBrowser();
    try {
      const url = await waitFor(() => {
        if (qs.exitCode !== null) throw new Error(`the quickstart ended early (${qs.exitCode}):\n${text}`);
        return /calendar \(live.*\): (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text)?.[1];
      }, { timeoutMs: 180_000, what: 'the quickstart to print the calendar URL' });
      await b.page.goto(url);
      await b.page.waitForSelector('body[data-live="true"]');
      await b.page.click('[data-view="day"]');
      const phases: string[] = [];
      await waitFor(async () => {
        const ph = await b.page.getAttribute('.bar[data-key="kiwitest-demo/second"]', 'data-phase', { timeout: 100 }).catch(() => null);
        if (ph && phases[phases.length - 1] !== ph) phases.push(ph);
        return phases.includes('Expired');
      }, { timeoutMs: 60_000, intervalMs: 50, what: `the demo booking to expire on the page (seen: ${phases.join(', ')})` });
      assert.deepEqual(phases, ['Pending', 'Active', 'Expired'], `phases seen on the page\n${text}`);
      await waitFor(() => /Still running: book the node/.test(text), { timeoutMs: 60_000, what: 'the quickstart to wait' });
      // book the node from the page, as the demo user
      await b.page.fill('#login-form input[name="user"]', 'kiwitest-demo');
      await b.page.click('#login-form button[type="submit"]');
      await b.page.waitForSelector('#new:not([hidden])');
      const box = (await b.page.locator('.lane').first().boundingBox())!;
      const now = Number(await b.page.evaluate('parseFloat(document.getElementById("now").style.left)'));
      const px = Number(await b.page.getAttribute('body', 'data-px-per-hour'));
      await b.page.mouse.move(box.x + now - px / 6, box.y + 12);
      await b.page.mouse.down();
      await b.page.mouse.move(box.x + now + px / 2, box.y + 12, { steps: 4 });
      await b.page.mouse.up();
      await b.page.waitForSelector('#preview.ok');
      await b.page.click('#confirm');
      await b.page.waitForSelector('#preview[data-phase="Active"]');
      await b.page.screenshot({ path: artifact('quickstart.png') });
    } finally {
      await b.close();
      await stopProc(qs, 'SIGTERM', 20_000);
    }
  });
});

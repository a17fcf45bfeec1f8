// The README's first command, end to end: it must run green from a clean clone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ROOT } from '../../helpers/build.js';

describe('quickstart (npm run quickstart)', function () {
  this.timeout(240_000);

  it('brings up etcd, operator and daemon, shows a booking Pending, Active, Expired and its job cleaned up, and stops it all', async function () {
    if (process.getuid?.() !== 0) {
      console.log('    (skipped: the quickstart creates a user and must run as root)');
      this.skip();
    }
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const p = spawn('bash', ['scripts/quickstart.sh'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.stderr.on('data', (d) => (text += d));
      p.on('exit', (code) => resolve({ code, text }));
    });
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, /second\s+kiwitest-demo\s+Pending/);
    assert.match(out.text, /second\s+kiwitest-demo\s+Active/);
    assert.match(out.text, /second\s+kiwitest-demo\s+Expired/);
    assert.match(out.text, /was cleaned up by the node daemon; kiwitest-demo has 0 processes left/);
    // everything it started is gone
    const left = await new Promise<string>((resolve) => {
      const p = spawn('sh', ['-c', 'ps -eo args= | grep -E "kiwi-quickstart|kiwi-(operator|node-daemon) " | grep -v grep || true']);
      let s = '';
      p.stdout.on('data', (d) => (s += d));
      p.on('exit', () => resolve(s));
    });
    assert.equal(left.trim(), '', `left running: ${left}`);
  });
});

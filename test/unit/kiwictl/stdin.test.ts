// kiwictl reads `-f -` from stdin synchronously, also when stdin is a non-blocking pipe with no
// data yet. Touching process.stdin (commander, a TTY check) makes a piped fd 0 non-blocking, and
// readFileSync(0) then threw EAGAIN whenever the writer was slower than the reader (seen in
// test/integration/security/apply-fuzz.test.ts on Node 22).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/** Runs `body` in a child whose stdin is a pipe made non-blocking, feeding it once the child reads, in two parts. */
async function feedLate(body: string): Promise<{ code: number | null; out: string; err: string }> {
  const script = `import { readFileSync } from 'node:fs'; import { readStdin } from './kiwictl/src/cmd/input.ts'; process.stdin.isTTY; process.stdout.write('ready;'); ${body}`;
  const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  p.stdin.on('error', () => {}); // the control case exits before reading it all
  const exited = new Promise<number | null>((r) => p.once('exit', r));
  // the child reads right after saying so (stdout to a pipe is synchronous): nothing is there yet
  await new Promise<void>((r) => p.stdout.on('data', () => out.startsWith('ready;') && r()));
  p.stdin.write('x'.repeat(200_000));
  await new Promise((r) => setTimeout(r, 100));
  p.stdin.end('tail');
  const code = await exited;
  return { code, out, err };
}

describe('reading stdin (kiwictl -f -)', function () {
  this.timeout(20_000);
  it('waits for data on a non-blocking pipe that is empty at first, and reads it whole', async () => {
    const r = await feedLate("const t = readStdin(); process.stdout.write(t.length + ':' + t.slice(-4));");
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'ready;200004:tail');
  });
  it('(readFileSync(0), as kiwictl read it before, fails there with EAGAIN)', async () => {
    const r = await feedLate("readFileSync(0, 'utf8');");
    assert.notEqual(r.code, 0);
    assert.match(r.err, /EAGAIN/);
  });
});

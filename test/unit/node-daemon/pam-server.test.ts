import { strict as assert } from 'node:assert';
import { createConnection } from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPamServer, answer, type PamServer } from '../../../node-daemon/src/pam/server.js';
import { bypassFileContent, writeBypassFile } from '../../../node-daemon/src/pam/bypass-file.js';
import type { LocalView } from '../../../node-daemon/src/view.js';
import { DEFAULT_CONFIG } from '../../../crds/api/index.js';
import { waitFor } from '../../helpers/wait.js';

const T = Date.parse('2026-11-22T22:00:00Z');
const uids: Record<string, number> = { root: 0, daemon: 1, alice: 1001, bob: 1002, ops: 1003 };

/** Sends `data` (optionally half-closing), returns everything the server sent before closing. */
function ask(path: string, data: string, opts: { end?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let out = '';
    c.setEncoding('latin1');
    c.on('data', (d: string) => (out += d));
    c.on('close', () => resolve(out));
    c.on('error', reject);
    c.on('connect', () => (opts.end === false ? c.write(data) : c.end(data)));
  });
}

describe('pam socket server', () => {
  let dir: string;
  let srv: PamServer;
  let view: LocalView | undefined;
  let throwOnDecide = false;
  let adopted: string[] = [];
  const sock = () => join(dir, 'run', 'pam.sock');

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-pamsrv-'));
    view = {
      node: 'n1',
      entries: [{ booking: 'alice/bk1', uid: 'x', user: 'alice', start: T - 60_000, end: T + 3_600_000 }],
      config: { ...DEFAULT_CONFIG, sshBypassUsers: ['ops'] },
      syncedAt: T,
    };
    throwOnDecide = false;
    srv = await startPamServer({
      socketPath: sock(),
      getView: () => {
        if (throwOnDecide) throw new Error('boom');
        return view;
      },
      lookupUser: (n: string) => ({ name: n, uid: (uids as Record<string, number>)[n] }),
      now: () => T,
      timeoutMs: 300,
      maxConnections: 4,
      adopt: (u, pid) => {
        adopted.push(`${u.name}:${u.uid}:${pid}`);
        return u.name === 'alice' ? 'ok' : 'skip notBooked';
      },
    });
  });
  afterEach(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the socket 0600', () => {
    const st = statSync(sock());
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });

  it('answers allow and deny lines', async () => {
    assert.equal(await ask(sock(), 'alice\n'), 'allow booked\n');
    assert.equal(await ask(sock(), 'ops\n'), 'allow bypass\n');
    assert.equal(await ask(sock(), 'daemon\n'), 'allow systemUser\n');
    assert.equal(await ask(sock(), 'bob\n'), 'deny kiwi: node n1 is booked by alice until 2026-11-22 23:00 UTC; book it with: kiwictl alloc -w n1\n');
  });

  it('answers without waiting for the client to half-close, and takes CRLF', async () => {
    assert.equal(await ask(sock(), 'alice\n', { end: false }), 'allow booked\n');
    assert.equal(await ask(sock(), 'alice\r\n'), 'allow booked\n');
  });

  it('takes a request without a newline when the client half-closes', async () => {
    assert.equal(await ask(sock(), 'alice'), 'allow booked\n');
  });

  it('follows the view as it changes', async () => {
    view = { ...view!, entries: [] };
    assert.match(await ask(sock(), 'alice\n'), /^deny kiwi: you have no booking on node n1 now/);
    view = undefined;
    assert.match(await ask(sock(), 'alice\n'), /^deny kiwi: this node has not loaded/);
  });

  it('passes adopt requests to the session hook, and checks them', async () => {
    adopted = [];
    assert.equal(await ask(sock(), 'adopt alice 4242\n'), 'ok\n');
    assert.equal(await ask(sock(), 'adopt bob 17\n'), 'skip notBooked\n');
    for (const bad of ['adopt alice', 'adopt alice 0', 'adopt alice -1', 'adopt al;ce 5', 'adopt alice 5 6', 'adopt alice 12345678901']) {
      assert.equal(await ask(sock(), bad + '\n'), 'skip invalid request\n', bad);
    }
    assert.deepEqual(adopted, ['alice:1001:4242', 'bob:1002:17']);
  });

  it('refuses odd names before any lookup', async () => {
    for (const bad of ['', '-alice', '.x', 'a b', 'a;rm', 'al\x00ice', 'ä', 'a'.repeat(65), '@x', 'a/b']) {
      assert.equal(await ask(sock(), bad + '\n'), 'deny kiwi: invalid user name\n', JSON.stringify(bad));
    }
  });

  it('refuses an over-long request without waiting for its end', async () => {
    assert.equal(await ask(sock(), 'a'.repeat(10_000), { end: false }), 'deny kiwi: request too long\n');
  });

  it('drops a connection that sends nothing, after its timeout', async () => {
    const t0 = Date.now();
    assert.equal(await ask(sock(), '', { end: false }), '');
    const took = Date.now() - t0;
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
  });

  it('drops a client that trickles bytes, at the same deadline', async () => {
    const t0 = Date.now();
    const out = await new Promise<string>((resolve) => {
      const c = createConnection(sock());
      let got = '';
      c.on('data', (d) => (got += d));
      const iv = setInterval(() => c.write('a'), 50);
      c.on('close', () => (clearInterval(iv), resolve(got)));
      c.on('error', () => undefined);
    });
    assert.equal(out, '');
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
  });

  it('closes without a reply when it cannot decide (the helper then applies pamFailMode)', async () => {
    throwOnDecide = true;
    assert.equal(await ask(sock(), 'alice\n'), '');
    throwOnDecide = false;
    assert.equal(await ask(sock(), 'alice\n'), 'allow booked\n');
  });

  it('survives garbage and binary input', async () => {
    const junk = Buffer.from(Array.from({ length: 50 }, (_, i) => (i * 37) % 256)).toString('latin1');
    await ask(sock(), junk);
    await ask(sock(), '\n\n\n');
    assert.equal(await ask(sock(), 'alice\n'), 'allow booked\n');
  });

  it('bounds concurrent connections and recovers', async () => {
    const idle = Array.from({ length: 8 }, () => createConnection(sock()));
    for (const c of idle) c.on('error', () => {});
    const closed = await Promise.all(idle.map((c) => new Promise<boolean>((r) => c.on('close', () => r(true)))));
    assert.equal(closed.length, 8); // the extra ones at once, the rest at their timeout
    assert.equal(await ask(sock(), 'alice\n'), 'allow booked\n');
  });

  it('refuses to start on a live socket, replaces a stale one, removes its own on close', async () => {
    await assert.rejects(startPamServer({ socketPath: sock(), getView: () => view }), /another process serves PAM checks/);
    await srv.close();
    assert.equal(existsSync(sock()), false);
    // a stale socket file, as a SIGKILLed daemon leaves it
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock())}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(existsSync(sock()));
    srv = await startPamServer({ socketPath: sock(), getView: () => view, lookupUser: (n: string) => ({ name: n, uid: (uids as Record<string, number>)[n] }), now: () => T });
    assert.equal(await ask(sock(), 'alice\n'), 'allow booked\n');
  });

  it('answers fast (median of 200 round trips well under a millisecond of server time)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = process.hrtime.bigint();
      await ask(sock(), 'bob\n');
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    // The round trip includes this client's own connect and event-loop turns.
    assert.ok(times[100] < 5, `p50 ${times[100].toFixed(3)} ms`);
  });
});

describe('pam answer()', () => {
  it('maps a decision to a line', () => {
    assert.equal(answer('x', () => ({ allow: true, outcome: 'admin', reason: '' })), 'allow admin\n');
    assert.equal(answer('x', () => ({ allow: false, outcome: 'noBooking', reason: 'kiwi: no' })), 'deny kiwi: no\n');
  });
});

describe('bypass file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kiwitest-bypass-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists root, bypass users and admins, minuid and failmode; drops invalid names', () => {
    const c = bypassFileContent({ ...DEFAULT_CONFIG, sshBypassUsers: ['ops', 'bad name', 'root'], admins: ['boss'], minUid: 500, pamFailMode: 'open' });
    assert.equal(c.split('\n').slice(1).join('\n'), 'failmode open\nminuid 500\nallow root\nallow ops\nallow boss\n');
  });

  it('writes atomically, 0600, only when the content changes', async () => {
    const p = join(dir, 'state', 'pam-bypass');
    assert.equal(writeBypassFile(p, DEFAULT_CONFIG), true);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.equal(writeBypassFile(p, DEFAULT_CONFIG), false);
    assert.equal(writeBypassFile(p, { ...DEFAULT_CONFIG, admins: ['boss'] }), true);
    assert.match(readFileSync(p, 'utf8'), /^allow boss$/m);
    await waitFor(() => true);
  });
});

// The daemon's PAM socket under a flood: 2,000 connections opened as fast as possible (idle
// ones, junk, over-long lines, trickles, valid questions). The server stays up, drops every
// hostile connection by its deadline, answers a normal question within 200 ms once the flood's
// idle connections have been cut, and its memory stays bounded.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProc } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureUser } from '../../helpers/users.js';

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

function ask(path: string, data: string, timeoutMs = 2000): Promise<{ reply: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const c = createConnection(path);
    let out = '';
    const t = setTimeout(() => c.destroy(), timeoutMs);
    c.setEncoding('latin1');
    c.on('data', (d: string) => (out += d));
    c.on('close', () => (clearTimeout(t), resolve({ reply: out, ms: performance.now() - t0 })));
    c.on('error', () => undefined);
    c.on('connect', () => c.end(data));
  });
}

describe('security: the PAM socket under a connection flood', function () {
  this.timeout(60_000);
  let dir: string;
  let srv: ChildProcess;
  let sock: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-pamflood-'));
    chmodSync(dir, 0o755); // so that only the socket's own mode (0600) keeps users out
    sock = join(dir, 'pam.sock');
    srv = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'pam-flood-server.ts'), sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    srv.stdout!.on('data', (d) => (out += d));
    await waitFor(() => out.includes('ready'), { timeoutMs: 15_000, what: 'the PAM server' });
  });
  after(async () => {
    if (srv) await stopProc(srv, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('2,000 hostile connections: it stays up, cuts them all, answers again within 200 ms, memory bounded', async () => {
    // warm up, then measure
    for (let i = 0; i < 50; i++) assert.equal((await ask(sock, 'alice\n')).reply, 'allow booked\n');
    const rssBefore = rssKb(srv.pid!);
    const kinds = ['idle', 'junk', 'long', 'trickle', 'valid', 'env'] as const;
    const conns: Promise<void>[] = [];
    // A client whose connect() found the listen backlog full may never hear back (libuv does not
    // report EAGAIN on a Unix socket connect): after 5 s, count it and let it go. A connection
    // that did connect must have been ended by the server by then.
    const left = { notAccepted: 0, heldOpen: 0 };
    const t0 = Date.now();
    for (let i = 0; i < 2000; i++) {
      const kind = kinds[i % kinds.length];
      conns.push(
        new Promise<void>((resolve) => {
          const c: Socket = createConnection(sock);
          let iv: NodeJS.Timeout | undefined;
          const guard = setTimeout(() => {
            if (c.connecting) left.notAccepted++;
            else left.heldOpen++;
            c.destroy();
          }, 5000);
          c.on('error', () => undefined);
          c.resume(); // read (and drop) the replies, so the client sees the server's end
          c.on('close', () => (clearInterval(iv), clearTimeout(guard), resolve()));
          c.on('connect', () => {
            if (kind === 'junk') c.write(Buffer.from(Array.from({ length: 200 }, (_, j) => (i * 31 + j * 7) % 256)));
            if (kind === 'long') c.write('a'.repeat(100_000));
            if (kind === 'trickle') iv = setInterval(() => c.write('a'), 20);
            if (kind === 'valid') c.end('bob\n');
            if (kind === 'env') c.write('LD_PRELOAD=/tmp/x.so alice\n');
            // idle: sends nothing and never closes
          });
        }),
      );
    }
    // Every connection ends (the server cuts idle and trickling ones at its 1 s deadline; the
    // ones over its connection limit at once): nothing is held open for good.
    await Promise.race([Promise.all(conns), new Promise((_, rej) => setTimeout(() => rej(new Error('connections still open after 20 s')), 20_000))]);
    const floodMs = Date.now() - t0;
    assert.equal(left.heldOpen, 0, 'connections the server accepted but never ended');
    assert.ok(srv.exitCode === null && srv.signalCode === null, 'the server is still running');
    // answers a normal question at once again
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await ask(sock, 'alice\n'));
    for (const a of answers) assert.equal(a.reply, 'allow booked\n');
    const worst = Math.max(...answers.map((a) => a.ms));
    assert.ok(worst < 200, `worst answer ${worst.toFixed(1)} ms`);
    assert.equal((await ask(sock, 'LD_PRELOAD=/x alice\n')).reply, 'deny kiwi: invalid user name\n');
    const rssAfter = rssKb(srv.pid!);
    console.log(`      flood of 2,000 ended in ${floodMs} ms (${left.notAccepted} never accepted: listen backlog full); RSS ${(rssBefore / 1024).toFixed(1)} -> ${(rssAfter / 1024).toFixed(1)} MiB; worst answer after ${worst.toFixed(1)} ms`);
    assert.ok(rssAfter - rssBefore < 40 * 1024, `RSS grew by ${((rssAfter - rssBefore) / 1024).toFixed(1)} MiB`);
  });

  it('only root can flood it at all: the socket is 0600, a user cannot connect', async () => {
    const u = ensureUser('sec-flood');
    const r = spawnSync('setpriv', [`--reuid=${u.uid}`, `--regid=${u.uid}`, '--init-groups', process.execPath, '-e',
      `const c=require('net').createConnection(${JSON.stringify(sock)});c.on('connect',()=>{console.log('connected');process.exit(0)});c.on('error',(e)=>{console.log(e.code);process.exit(0)})`], { encoding: 'utf8' });
    assert.match(r.stdout, /EACCES/, r.stdout + r.stderr);
  });
});

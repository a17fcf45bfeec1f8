// The helper script, run directly as pam_exec runs it (PAM_TYPE, PAM_USER in the environment),
// against the real socket server fed by a view built here.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPamServer, type PamServer } from '../../../node-daemon/src/pam/server.js';
import { writeBypassFile } from '../../../node-daemon/src/pam/bypass-file.js';
import type { LocalView } from '../../../node-daemon/src/view.js';
import { DEFAULT_CONFIG } from '../../../crds/api/index.js';

const HELPER = resolve('node-daemon/pam/kiwi-pam-check');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function runHelper(env: Record<string, string>, args: string[]): Promise<Run> {
  const t0 = Date.now();
  return new Promise((res) => {
    execFile(HELPER, args, { env, timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : -1) : 0;
      res({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('kiwi-pam-check (the pam_exec helper)', function () {
  this.timeout(20_000);
  let dir: string;
  let srv: PamServer | undefined;
  let view: LocalView;
  const sock = () => join(dir, 'pam.sock');
  const bypass = () => join(dir, 'pam-bypass');
  const args = () => [`--socket=${sock()}`, `--bypass-file=${bypass()}`, '--timeout=1'];
  const check = (user: string, extra: Record<string, string> = {}, a = args()) => runHelper({ PAM_TYPE: 'account', PAM_USER: user, ...extra }, a);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-pamcheck-'));
    const now = Date.now();
    view = {
      node: 'n1',
      entries: [{ booking: 'alice/bk1', uid: 'x', user: 'alice', start: now - 60_000, end: now + 3_600_000 }],
      config: { ...DEFAULT_CONFIG, sshBypassUsers: ['ops'], admins: ['boss'] },
      syncedAt: now,
    };
    writeBypassFile(bypass(), view.config);
    srv = await startPamServer({ socketPath: sock(), getView: () => view, lookupUser: (n: string) => ({ name: n, uid: ({ alice: 1001, bob: 1002 } as Record<string, number>)[n] }) });
  });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('allows the booked user, denies another with the reason on stdout', async () => {
    const alice = await check('alice');
    assert.deepEqual([alice.code, alice.stdout, alice.stderr], [0, '', '']);
    const bob = await check('bob');
    assert.equal(bob.code, 1);
    assert.match(bob.stdout, /^kiwi: node n1 is booked by alice until \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC; book it with: kiwictl alloc --nodes n1\n$/);
  });

  it('with the daemon stopped: root, bypass users, admins and system users get in, nobody else', async () => {
    await srv!.close();
    srv = undefined;
    for (const u of ['root', 'ops', 'boss', 'daemon']) assert.equal((await check(u)).code, 0, u);
    const alice = await check('alice');
    assert.equal(alice.code, 1);
    assert.match(alice.stdout, /^kiwi: the booking daemon of this node is not answering/);
  });

  it('with the daemon stopped and failmode open, everyone gets in', async () => {
    await srv!.close();
    srv = undefined;
    writeBypassFile(bypass(), { ...view.config, pamFailMode: 'open' });
    assert.equal((await check('bob')).code, 0);
  });

  it('a stale socket (daemon SIGKILLed) fails as fast as a missing one', async () => {
    await srv!.close();
    srv = undefined;
    // A socket file nobody listens on, as a SIGKILLed daemon leaves it.
    await new Promise((r) => execFile(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock())}, () => process.kill(process.pid, 'SIGKILL'))`], r));
    assert.ok(existsSync(sock()));
    const r = await check('bob');
    assert.equal(r.code, 1);
    assert.ok(r.ms < 900, `took ${r.ms} ms`);
  });

  it('a hung daemon costs at most the timeout, then fail mode applies', async () => {
    await srv!.close();
    const held: Socket[] = [];
    const hung: Server = createServer((c) => held.push(c)); // accepts, never answers
    await new Promise<void>((r) => hung.listen(sock(), r));
    try {
      const r = await check('bob');
      assert.equal(r.code, 1);
      assert.equal(r.stdout, 'kiwi: the booking daemon of this node is not answering, so only administrators may log in now; try again in a minute or tell your administrators.\n');
      assert.equal(r.stderr, ''); // pam_exec would show stderr too: no "Killed" from the shell
      assert.ok(r.ms >= 900 && r.ms < 2500, `took ${r.ms} ms`);
      assert.equal((await check('ops')).code, 0); // the bypass file is read before the socket
    } finally {
      for (const c of held) c.destroy();
      await new Promise<void>((r) => hung.close(() => r()));
      srv = undefined;
    }
  });

  it('only acts on the account and session stacks; refuses in auth, so it cannot become a way in', async () => {
    for (const type of ['auth', 'chauthtok', 'Account', '']) {
      const r = await runHelper({ PAM_TYPE: type, PAM_USER: 'alice' }, args());
      assert.equal(r.code, 1, type);
    }
    assert.equal((await runHelper({ PAM_USER: 'root' }, args())).code, 1);
  });

  it('session: asks the daemon to adopt its parent, never refuses', async () => {
    await srv!.close();
    const got: string[] = [];
    const fake = createServer((c) => {
      c.setEncoding('latin1');
      c.on('data', (d: string) => got.push(d));
      c.on('end', () => c.end('ok\n'));
    });
    await new Promise<void>((r) => fake.listen(sock(), r));
    try {
      const r = await runHelper({ PAM_TYPE: 'open_session', PAM_USER: 'alice' }, args());
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
      assert.deepEqual(got, [`adopt alice ${process.pid}\n`]); // the helper's parent: here, this process
      got.length = 0;
      for (const [type, user] of [['close_session', 'alice'], ['open_session', 'root'], ['open_session', 'a b']]) {
        const q = await runHelper({ PAM_TYPE: type, PAM_USER: user }, args());
        assert.equal(q.code, type === 'open_session' && user === 'a b' ? 1 : 0, `${type} ${user}`);
      }
      assert.deepEqual(got, []);
      // users in the bypass file are never adopted: the daemon is not even asked
      assert.equal((await runHelper({ PAM_TYPE: 'open_session', PAM_USER: 'ops' }, args())).code, 0);
      assert.deepEqual(got, []);
    } finally {
      await new Promise<void>((r) => fake.close(() => r()));
      srv = undefined;
    }
    // and with no daemon at all a session still opens
    assert.equal((await runHelper({ PAM_TYPE: 'open_session', PAM_USER: 'alice' }, args())).code, 0);
  });

  it('refuses odd user names before using them', async () => {
    const marker = join(dir, 'pwned');
    for (const u of ['', '-n', '.x', '@x', 'a b', 'a\nroot', 'root\n', `$(touch ${marker})`, '`touch x`', '../root', 'a*', 'ä', 'x'.repeat(65), 'a;b', "a'b"]) {
      const r = await check(u);
      assert.equal(r.code, 1, JSON.stringify(u));
      assert.equal(r.stdout, 'kiwi: invalid user name\n', JSON.stringify(u));
    }
    assert.equal(existsSync(marker), false);
    assert.equal((await check('x'.repeat(64))).code, 1); // valid, not booked
  });

  it('ignores a hostile PATH, IFS and shell variables', async () => {
    const evil = join(dir, 'evil');
    const marker = join(dir, 'evil-ran');
    mkdirSync(evil);
    for (const prog of ['socat', 'timeout', 'cat', 'test', '[', 'printf']) {
      writeFileSync(join(evil, prog), `#!/bin/sh\ntouch ${marker}\necho allow\nexit 0\n`);
      chmodSync(join(evil, prog), 0o755);
    }
    const env = { PATH: evil, IFS: 'a/bo', ENV: join(evil, 'socat'), BASH_ENV: join(evil, 'socat'), CDPATH: evil, LD_PRELOAD: '/nonexistent.so' };
    const bob = await check('bob', env);
    assert.equal(bob.code, 1);
    assert.match(bob.stdout, /is booked by alice/);
    assert.equal((await check('alice', env)).code, 0);
    assert.equal(existsSync(marker), false);
  });

  it('never runs without a time limit, whatever --timeout says', async () => {
    await srv!.close();
    const held: Socket[] = [];
    const hung: Server = createServer((c) => held.push(c));
    await new Promise<void>((r) => hung.listen(sock(), r));
    try {
      for (const t of ['0', '0.00', '1e9']) {
        const r = await check('bob', {}, [`--socket=${sock()}`, `--bypass-file=${bypass()}`, `--timeout=${t}`]);
        assert.equal(r.code, 1, t);
        assert.ok(r.ms < 3500, `--timeout=${t}: took ${r.ms} ms (the default is 2 s)`);
      }
    } finally {
      for (const c of held) c.destroy();
      await new Promise<void>((r) => hung.close(() => r()));
      srv = undefined;
    }
  });

  it('takes its paths only from arguments, and a bad argument means fail mode', async () => {
    // Default paths do not exist here: without arguments the daemon cannot be asked.
    const r = await runHelper({ PAM_TYPE: 'account', PAM_USER: 'alice', KIWI_PAM_SOCKET: sock() }, ['--socket=/nonexistent/pam.sock', `--bypass-file=${bypass()}`]);
    assert.equal(r.code, 1);
    assert.equal((await check('alice', {}, [...args(), '--socket=relative'])).code, 1);
    assert.equal((await check('alice', {}, [...args(), '--bogus'])).code, 1);
    assert.equal((await check('ops', {}, [...args(), '--bogus'])).code, 0);
  });

  it('uses the bypass file only if it is a root-owned regular file, not a symlink', async () => {
    await srv!.close();
    srv = undefined;
    const other = join(dir, 'other');
    writeFileSync(other, 'failmode open\nallow bob\n');
    chownSync(other, 65534, 65534);
    assert.equal((await check('bob', {}, [`--socket=${sock()}`, `--bypass-file=${other}`])).code, 1);
    const link = join(dir, 'link');
    chownSync(other, 0, 0);
    symlinkSync(other, link);
    assert.equal((await check('bob', {}, [`--socket=${sock()}`, `--bypass-file=${link}`])).code, 1);
    assert.equal((await check('bob', {}, [`--socket=${sock()}`, `--bypass-file=${other}`])).code, 0);
  });

  it('prints only printable one-line reasons from the socket', async () => {
    await srv!.close();
    const fake = createServer((c) => c.resume().end('deny evil\x1b]0;pwn\x07 text\nsecond line\n'));
    await new Promise<void>((r) => fake.listen(sock(), r));
    try {
      const r = await check('bob');
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "kiwi: login refused by the node's booking daemon\n");
    } finally {
      await new Promise<void>((r) => fake.close(() => r()));
      srv = undefined;
    }
  });

  it('a daemon that cannot decide (closes without a reply) means fail mode', async () => {
    await srv!.close();
    const fake = createServer((c) => c.destroy());
    await new Promise<void>((r) => fake.listen(sock(), r));
    try {
      assert.match((await check('alice')).stdout, /not answering/);
      assert.equal((await check('daemon')).code, 0);
    } finally {
      await new Promise<void>((r) => fake.close(() => r()));
      srv = undefined;
    }
  });
});

// README's tour, run as written against the quickstart's setup: a real etcd, the real operator
// and a real node daemon (node3), the real built kiwictl; the user lines as a kiwitest user,
// the admin lines as root (as the README says). Each line must exit as its comment documents
// (0 unless it says "exit N"; "or refused" allows 9). Then every example of every verb's
// --help is checked to be a command kiwictl understands: run against the same cluster (the
// ones that are safe to run here), it never fails on usage (unknown verb, option or argument).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteUser, ensureUser, type TestUser } from '../../helpers/users.js';
import { waitFor } from '../../helpers/wait.js';
import { asUser, bookingName, startCluster, startKiwictl, type Cluster } from '../../integration/kiwictl/booking-helpers.js';
import { kiwictl, ROOT } from '../../integration/kiwictl/cli.js';
import { startDaemon, type RunningDaemon } from '../daemon/harness.js';
import { splitWords } from '../../../kiwictl/src/cmd/run/ssh.js';

/** The tour's lines: the command's words, its comment, and any redirect of stdout. */
export function tourLines(readme: string): { line: string; words: string[]; comment: string; redirect?: string }[] {
  const start = readme.indexOf('## A short tour');
  const block = /```\n([\s\S]*?)```/.exec(readme.slice(start))![1];
  return block
    .split('\n')
    .filter((l) => l.startsWith('./bin/kiwictl'))
    .map((line) => {
      const hash = line.search(/\s#\s/);
      const cmd = (hash < 0 ? line : line.slice(0, hash)).trim();
      const comment = hash < 0 ? '' : line.slice(hash).replace(/^\s*#\s*/, '');
      const [c, redirect] = cmd.split(/\s>\s/);
      return { line, words: splitWords(c).slice(1), comment, redirect: redirect?.trim() };
    });
}

/** What a comment documents: exit 0, "exit N", or "or refused" (0 or 9). */
function expected(comment: string): number[] {
  const m = /exit (\d+)/.exec(comment);
  if (/or refused/.test(comment)) return [0, 9];
  if (m) return [Number(m[1])];
  return [0];
}

// `kill` too: node3's daemon runs on this very machine, and ending the user's booking ends every
// process of that user here, the kiwictl that asked included (as it should).
const ADMIN = new Set(['dev', 'init', 'add-node', 'diff', 'apply', 'label', 'import-kiwi', 'completion', 'man', 'kill']);

describe('README tour and --help examples, against a real cluster (etcd, operator, node daemon)', function () {
  this.timeout(180_000);
  let c: Cluster;
  let user: TestUser;
  let tmp: string;
  let daemon: RunningDaemon | undefined;
  let devState: string;

  before(async () => {
    user = ensureUser('tour');
    tmp = mkdtempSync(join(tmpdir(), 'kiwitest-tour-'));
    chmodSync(tmp, 0o755);
    devState = join(tmp, 'dev');
    c = await startCluster('kiwitest-tour-op');
  });
  after(async () => {
    await daemon?.stop();
    if (devState) await kiwictl(['dev', 'down', '--state-dir', devState, '--purge'], { env: c?.env });
    await c?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (user) deleteUser(user.name);
  });

  it('runs every line of the README tour, each exiting as documented', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const lines = tourLines(readme);
    assert.ok(lines.length >= 20, `only ${lines.length} tour lines`);
    // `run` talks ssh to the node; here a stand-in runs the remote command locally
    const ssh = join(tmp, 'ssh');
    writeFileSync(ssh, '#!/bin/sh\n# the tour test\'s ssh: skip options up to USER@HOST, run the rest here\nwhile [ $# -gt 0 ]; do case "$1" in *@*) shift; break ;; *) shift ;; esac; done\n[ "$1" = -- ] && shift\nexec sh -c "$*"\n');
    chmodSync(ssh, 0o755);
    const oldKiwi = join(tmp, 'config.json');
    writeFileSync(oldKiwi, JSON.stringify({ workers: { oldnode: ['10.9.9.9', 22] }, worker_ssh_bypass: ['backup'] }));
    chmodSync(oldKiwi, 0o644);
    const env = { ...c.env, KIWI_SSH: ssh, KIWI_DEV_STATE_DIR: devState, TZ: 'UTC' };
    let booking = '';
    for (const l of lines) {
      let words = l.words.map((w) => (w === 'bk-7f3k' ? booking : w === '/nfs/kiwi/config.json' ? oldKiwi : w === '/usr/local/share/man/man1' ? join(tmp, 'man') : w));
      if (words.includes('')) throw new Error(`${l.line}: no booking yet to stand for bk-7f3k`);
      const verb = words[0];
      const admin = ADMIN.has(verb);
      if (verb === 'dev') words = [...words, '--state-dir', devState];
      let r;
      if (words.includes('-w') && verb === 'get') {
        // the live view: wait for the first table, then Ctrl-C; it stops cleanly with 0
        const live = startKiwictl(words, env);
        await waitFor(() => /NAME/.test(live.stdout()), { timeoutMs: 15_000, what: 'the live view' });
        process.kill(live.pid, 'SIGINT');
        r = await live.done;
      } else if (admin) r = await kiwictl(words, { env, timeoutMs: 60_000 });
      else r = await asUser(user, words, env);
      const want = expected(l.comment);
      assert.ok(want.includes(r.code ?? -1), `${l.line}\n  exit ${r.code}, documented ${want.join(' or ')}\n  stdout: ${r.stdout}\n  stderr: ${r.stderr}`);
      if (l.redirect) writeFileSync(join(tmp, 'redirected'), r.stdout);
      if (verb === 'add-node' && words[1] === 'node3') {
        // the quickstart's node daemon, for the node the tour books
        daemon = await startDaemon({ endpoint: c.etcd.endpoint, node: 'node3', stateDir: join(tmp, 'daemon'), leaseTtl: 2 });
        await waitFor(async () => /node3\s+Ready/.test((await c.k(['get', 'nodes', 'node3'])).stdout), { timeoutMs: 20_000, what: 'node3 Ready' });
      }
      if (verb === 'alloc' && !words.some((w) => w.startsWith('--dry-run')) && !booking) booking = bookingName(r.stdout);
      if (verb === 'kill' && booking) {
        // The daemon ends every process of the user until its cleanup is confirmed; the next line
        // of the tour runs as that user, so it waits for node3 to report the cleanup done.
        const done = (conds: { type: string; status: string; message?: string }[] = []) => conds.some((x) => x.type === 'Cleaned' && x.status === 'True' && x.message?.includes(booking));
        await waitFor(async () => done((await c.etcd.store().get({ kind: 'Node', name: 'node3' }))?.status?.conditions as never), { timeoutMs: 20_000, what: `node3's cleanup of ${booking}` });
      }
    }
    // what the tour promised along the way
    assert.match(readFileSync(join(tmp, 'redirected'), 'utf8'), /complete|compdef|kiwictl/);
    assert.ok(existsSync(join(tmp, 'man', 'kiwictl-get.1')));
  });

  it('every example of every --help names a verb and flags kiwictl knows (run where safe)', async () => {
    const help = (await kiwictl(['--help'])).stdout;
    const verbs = [...help.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((v) => v !== 'help');
    assert.ok(verbs.length >= 25, `only ${verbs.length} verbs in --help`);
    // Verbs whose examples change this machine (install under /usr, enable etcd auth, start
    // daemons, wait or run for long): their examples are checked to parse, not run.
    const NOT_RUN = new Set(['node', 'admin', 'dev', 'run', 'wait', 'drain', 'edit', 'completion', 'man']);
    let checked = 0;
    for (const v of verbs) {
      const text = (await kiwictl([v, '--help'])).stdout;
      const ex = text.split('\nExamples:\n')[1];
      if (!ex) continue;
      for (const raw of ex.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('kiwictl '))) {
        const cmd = raw.split(/\s*(?:\||&&|>|<|;)\s*/)[0];
        const words = splitWords(cmd.replace(/^[A-Z_]+=\S+\s+/, '')).slice(1);
        assert.ok(verbs.includes(words[0]), `${v} --help: the example "${raw}" names no verb kiwictl has`);
        const r = NOT_RUN.has(words[0]) ? await kiwictl([...words, '--help'], { env: c.env }) : await kiwictl(words, { env: c.env, timeoutMs: 20_000 });
        assert.doesNotMatch(r.stderr, /unknown command|unknown option|too many arguments|missing required argument|argument missing/, `${v} --help: the example "${raw}" does not parse:\n${r.stderr}`);
        checked++;
      }
    }
    assert.ok(checked >= 40, `only ${checked} examples checked`);
  });
});

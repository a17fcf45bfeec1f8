// The booking verbs end to end: the real built kiwictl against a real etcd and the real
// kiwi-operator (bin/kiwi-operator), as root (an admin) and as kiwitest users.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Booking } from '../../../crds/api/index.js';
import { deleteUser, ensureUser, type TestUser } from '../../helpers/users.js';
import { waitFor } from '../../helpers/wait.js';
import { bookingName, startCluster, startKiwictl, type Cluster } from './booking-helpers.js';
import { ROOT } from './cli.js';

describe('kiwictl booking verbs (real etcd, real operator, real binary)', function () {
  this.timeout(60_000);
  let c: Cluster;
  let alice: TestUser;
  let bob: TestUser;
  let tmp: string;
  const k = (...args: string[]) => c.k(args);
  const get = async (ns: string, name: string): Promise<Booking> => {
    const r = await k('get', 'booking', name, '-n', ns, '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const phase = async (ns: string, name: string) => (await get(ns, name)).status?.phase;
  const ok = (r: { code: number | null; stdout: string; stderr: string }, code = 0) =>
    assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

  before(async () => {
    alice = ensureUser('ctl-alice');
    bob = ensureUser('ctl-bob');
    tmp = mkdtempSync(join(tmpdir(), 'kiwitest-ctl-'));
    c = await startCluster('kiwitest-ctl-op');
  });
  after(async () => {
    await c?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    for (const u of [alice, bob]) if (u) deleteUser(u.name);
  });

  describe('admin verbs', () => {
    it('init creates the ClusterConfig with defaults, and is idempotent', async () => {
      let r = await k('init');
      ok(r);
      assert.match(r.stdout, /clusterconfig.kiwi.dev\/default created/);
      const cc = JSON.parse((await k('get', 'cc', 'default', '-o', 'json')).stdout);
      assert.equal(cc.spec.defaultDuration, 3600);
      assert.equal(cc.spec.pamFailMode, 'closed');
      r = await k('init');
      ok(r);
      assert.match(r.stdout, /default unchanged/);
    });

    it('init and add-node refuse non-admins (exit 7)', async () => {
      let r = await c.as(alice, ['init']);
      ok(r, 7);
      assert.match(r.stderr, /init is for admins .* you are kiwitest-ctl-alice/);
      r = await c.as(alice, ['add-node', 'x1', '--host', '127.0.0.1']);
      ok(r, 7);
    });

    it('add-node registers nodes; refuses a taken name, a bad port, a missing --host', async () => {
      ok(await k('add-node', 'n1', '--host', '127.0.0.1', '--port', '2222', '--label', 'gpu=a100'));
      ok(await k('add-node', 'n2', '--host', '127.0.0.1'));
      ok(await k('add-node', 'n3', '--host', '127.0.0.1', '--label', 'gpu=a100'));
      ok(await k('add-node', 'n10', '--host', '127.0.0.1'));
      const n1 = JSON.parse((await k('get', 'node', 'n1', '-o', 'json')).stdout);
      assert.deepEqual([n1.spec.address, n1.spec.sshPort, n1.metadata.labels], ['127.0.0.1', 2222, { gpu: 'a100' }]);
      let r = await k('add-node', 'n1', '--host', '127.0.0.1');
      ok(r, 4);
      assert.match(r.stderr, /node n1 already exists; change it with `kiwictl apply`/);
      r = await k('add-node', 'n9', '--host', '127.0.0.1', '--port', '70000');
      ok(r, 2);
      assert.match(r.stderr, /--port 70000/);
      r = await k('add-node', 'n9');
      ok(r, 2);
      assert.match(r.stderr, /needs --host/);
      r = await k('add-node', 'Bad_Name', '--host', 'h');
      ok(r, 2);
    });
  });

  describe('alloc, get, info, extend, kill, wait', () => {
    let a1: string; // alice on n1
    let b1: string; // bob queued behind her

    it('alloc for a user prints how to log in', async () => {
      const r = await k('alloc', '-u', alice.name, '-w', 'n1', '-t', '10m');
      ok(r);
      a1 = bookingName(r.stdout);
      assert.match(a1, /^bk-[a-z0-9]{5}$/);
      assert.match(r.stdout, /is Active on n1 until/);
      assert.match(r.stdout, new RegExp(`ssh ${alice.name}@127\\.0\\.0\\.1 -p 2222`));
      assert.equal(await phase(alice.name, a1), 'Active');
    });

    it('a second alloc waits in line and says after whom and until when', async () => {
      const r = await k('alloc', '-u', bob.name, '-w', 'n1', '-t', '5m', '--name', 'bob-1');
      ok(r);
      b1 = 'bob-1';
      assert.match(r.stdout, /booking kiwitest-ctl-bob\/bob-1 waits in line: planned start \S+ \(in (9|10)m/);
      assert.match(r.stdout, new RegExp(`after ${alice.name}/${a1} \\(${alice.name}\\) on n1 until`));
      assert.match(r.stdout, /kiwictl wait bob-1 --for=phase=Active/);
    });

    it('--no-queue on a busy node is refused (Busy, exit 9)', async () => {
      const r = await k('alloc', '-u', bob.name, '-w', 'n1', '-t', '5m', '--no-queue');
      ok(r, 9);
      assert.match(r.stderr, /refused \(Busy\).*n1 is held by/);
    });

    it('get bookings shows phase, user, nodes, start, end, remaining, and what a Pending one waits for', async () => {
      const r = await k('get', 'bookings', '-A');
      ok(r);
      const [head, ...rows] = r.stdout.trim().split('\n');
      assert.match(head, /NAMESPACE\s+NAME\s+USER\s+PHASE\s+NODES\s+START\s+END\s+REMAINING\s+MESSAGE/);
      const bobRow = rows.find((l) => l.includes('bob-1'))!;
      assert.match(bobRow, /Pending\s+n1\s+\d\d:\d\d\s+\d\d:\d\d\s+in \d+m\s+after kiwitest-ctl-alice\//);
      const aRow = rows.find((l) => l.includes(a1))!;
      assert.match(aRow, /Active\s+n1\s+(?:\w{3} \d\d )?\d\d:\d\d\s+(?:\w{3} \d\d )?\d\d:\d\d\s+9m|Active\s+n1\s+(?:\w{3} \d\d )?\d\d:\d\d\s+(?:\w{3} \d\d )?\d\d:\d\d\s+10m/);
    });

    it('info shows every node, sorted, with who holds it and for how long; -o json too', async () => {
      const r = await k('info');
      ok(r);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0], /^NODE\s+STATE\s+USER\s+BOOKING\s+SINCE\s+UNTIL\s+REMAINING\s+WAITING\s+LABELS$/);
      assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['n1', 'n2', 'n3', 'n10']);
      assert.match(lines[1], new RegExp(`^n1\\s+booked\\s+${alice.name}\\s+${alice.name}/${a1}\\s+\\d\\d:\\d\\d\\s+\\d\\d:\\d\\d\\s+\\d+m\\s+1\\s+gpu=a100$`));
      assert.match(lines[2], /^n2\s+free\s+-/);
      const rows = JSON.parse((await k('info', '-o', 'json', '-l', 'gpu=a100')).stdout);
      assert.deepEqual(rows.map((x: any) => x.node), ['n1', 'n3']);
      assert.equal(rows[0].user, alice.name);
      assert.ok(rows[0].remainingSeconds > 500);
    });

    it('extend past the next booking is refused naming it (exit 9); the end stays', async () => {
      const before = (await get(alice.name, a1)).status!.endTime;
      const r = await k('extend', a1, '-t', '+30m');
      ok(r, 9);
      assert.match(r.stderr, new RegExp(`extend of booking ${alice.name}/${a1} refused: node n1 is booked by ${bob.name}/bob-1`));
      assert.equal((await get(alice.name, a1)).status!.endTime, before);
    });

    it('extend -t -5m shortens, -t 4m sets a new total, and says the new end; the queue moves up', async () => {
      let r = await k('extend', a1, '-t', '-5m');
      ok(r);
      assert.match(r.stdout, new RegExp(`booking ${alice.name}/${a1} now ends at \\d\\d:\\d\\d \\(\\S+Z\\), was \\d\\d:\\d\\d; 4m\\d+s left`));
      let b = await get(alice.name, a1);
      assert.equal(b.spec.duration, 300);
      assert.equal(Date.parse(b.status!.endTime!) - Date.parse(b.status!.startTime!), 300_000);
      // bob's booking moved up to start at her new end, so she can no longer grow past it
      await waitFor(async () => (await get(bob.name, b1)).status!.startTime === b.status!.endTime, { what: "bob's booking to move up" });
      r = await k('extend', a1, '-t', '+1m');
      ok(r, 9);
      assert.equal((await get(alice.name, a1)).spec.duration, 300, 'a refused extend puts the spec back to what is in force');
      r = await k('extend', `${alice.name}/${a1}`, '-t', '4m');
      ok(r);
      b = await get(alice.name, a1);
      assert.equal(b.spec.duration, 240);
      assert.equal(Date.parse(b.status!.endTime!) - Date.parse(b.status!.startTime!), 240_000);
    });

    it('extend and kill of another user\'s booking are refused for non-admins (exit 7)', async () => {
      let r = await c.as(bob, ['extend', `${alice.name}/${a1}`, '-t', '+1m']);
      ok(r, 7);
      assert.match(r.stderr, /belongs to kiwitest-ctl-alice; only they or an admin/);
      r = await c.as(bob, ['kill', `${alice.name}/${a1}`]);
      ok(r, 7);
    });

    it('wait shows a status line per change and returns when the phase comes; kill ends a booking for the record', async () => {
      const waiting = startKiwictl(['wait', b1, '-n', bob.name, '--for=phase=Active', '--timeout', '30s'], c.env);
      await waitFor(() => waiting.stderr().includes('Pending'), { what: 'wait to show the Pending status line' });
      // The owner kills her own booking (as herself, no -u needed).
      const r = await c.as(alice, ['kill', a1]);
      ok(r);
      assert.match(r.stdout, new RegExp(`booking ${alice.name}/${a1} cancelled: Expired \\(Cancelled\\)`));
      const w = await waiting.done;
      ok(w);
      assert.match(w.stdout, /booking kiwitest-ctl-bob\/bob-1 reached phase Active/);
      const lines = w.stderr.trim().split('\n');
      assert.match(lines[0], /kiwitest-ctl-bob\/bob-1: Pending, starts/);
      assert.match(lines[lines.length - 1], /kiwitest-ctl-bob\/bob-1: Active on n1 until/);
      const a = await get(alice.name, a1);
      assert.deepEqual([a.status!.phase, a.status!.reason, a.spec.cancelled], ['Expired', 'Cancelled', true]);
    });

    it('extend and kill of an Expired booking are refused (exit 9)', async () => {
      let r = await k('extend', a1, '-t', '+10m');
      ok(r, 9);
      assert.match(r.stderr, /already ended \(Cancelled\); extend works on Pending and Active bookings/);
      r = await k('kill', a1);
      ok(r, 9);
      assert.match(r.stderr, /already ended .*nothing to kill/);
    });

    it('wait: a phase that can no longer come (exit 9), a timeout (exit 8), a bad --for (exit 2)', async () => {
      let r = await k('wait', a1, '--for=phase=Active');
      ok(r, 9);
      assert.match(r.stderr, /will never reach phase Active: it is Expired \(Cancelled/);
      r = await k('wait', b1, '--for=phase=Expired', '--timeout', '1s');
      ok(r, 8);
      assert.match(r.stderr, /timed out after 1s waiting for booking kiwitest-ctl-bob\/bob-1 to reach phase Expired/);
      r = await k('wait', b1, '--for=phase=Running');
      ok(r, 2);
      assert.match(r.stderr, /Pending, Active or Expired/);
      r = await k('wait', b1, '--for=ready');
      ok(r, 2);
      r = await k('wait', 'nosuch', '--for=phase=Active');
      ok(r, 3);
    });

    it('kill -w NODE ends what holds the node', async () => {
      const r = await k('kill', '-w', 'n1');
      ok(r);
      assert.match(r.stdout, /booking kiwitest-ctl-bob\/bob-1 cancelled: Expired \(Cancelled\)/);
      const again = await k('kill', '-w', 'n1');
      ok(again, 3);
      assert.match(again.stderr, /no Active booking holds node n1/);
    });
  });

  describe('alloc: selectors, reservations, --wait, and invalid input', () => {
    it('--count with a selector picks matching nodes; --wait returns once Active', async () => {
      const r = await k('alloc', '-u', alice.name, '--count', '2', '-l', 'gpu=a100', '-t', '1:00:00', '--wait', '--timeout', '20s');
      ok(r);
      assert.match(r.stdout, /is Active on n1, n3 until/);
      ok(await k('kill', bookingName(r.stdout), '-n', alice.name));
    });

    it('--start reserves the future; -o name prints only the name', async () => {
      const r = await k('alloc', '-u', alice.name, '-w', 'n2', '--start', 'now+2h', '-t', '30m', '-o', 'name');
      ok(r);
      const name = r.stdout.trim().replace('booking.kiwi.dev/', '');
      const b = await get(alice.name, name);
      assert.equal(b.status!.phase, 'Pending');
      assert.equal(b.status!.reason, 'Scheduled');
      ok(await k('kill', name, '-n', alice.name));
    });

    it('users book as themselves; -u is for admins only (exit 7)', async () => {
      let r = await c.as(alice, ['alloc', '-w', 'n2', '-t', '2m']);
      ok(r);
      assert.match(r.stdout, /booking kiwitest-ctl-alice\/bk-\w+ is Active on n2/);
      ok(await c.as(alice, ['kill', bookingName(r.stdout)]));
      r = await c.as(alice, ['alloc', '-u', bob.name, '-w', 'n2', '-t', '2m']);
      ok(r, 7);
      assert.match(r.stderr, /only admins .* may book for another user; you are kiwitest-ctl-alice/);
    });

    const invalid: [string, string[], number, RegExp][] = [
      ['a negative duration', ['-w', 'n2', '-t', '-5'], 2, /duration "-5" is negative/],
      ['a garbage duration', ['-w', 'n2', '-t', '5 parsecs'], 2, /is not a duration: use 90m/],
      ['an unknown node', ['-u', 'kiwitest-ctl-alice', '-w', 'n2,nosuch', '-t', '5m'], 3, /node nosuch does not exist; see the nodes with `kiwictl info`/],
      ['a user that does not exist', ['-u', 'kiwitest-nobody-here', '-w', 'n2', '-t', '5m'], 2, /user "kiwitest-nobody-here" does not exist on this machine/],
      ['no nodes', ['-t', '5m'], 2, /say which nodes: -w NODE/],
      ['nodes and count', ['-w', 'n2', '--count', '1', '-t', '5m'], 2, /not both/],
      ['a bad selector', ['--count', '1', '-l', 'gpu in (a)', '-t', '5m'], 2, /only equality/],
      ['a bad start', ['-w', 'n2', '--start', 'someday', '-t', '5m'], 2, /time "someday"/],
      ['root as the user', ['-w', 'n2', '-t', '5m'], 2, /root cannot book nodes/],
      ['longer than maxDuration', ['-u', 'kiwitest-ctl-alice', '-w', 'n2', '-t', '30d'], 9, /refused \(Rejected\): duration 30d is longer than the cluster's maxDuration 7d/],
    ];
    for (const [what, args, code, msg] of invalid) {
      it(`refuses ${what} (exit ${code})`, async () => {
        const r = await k('alloc', ...args);
        ok(r, code);
        assert.match(r.stderr, msg);
      });
    }

    it('--no-user-check skips the passwd lookup (the operator still decides)', async () => {
      const r = await k('alloc', '-u', 'kiwitest-nobody-here', '--no-user-check', '-w', 'n2', '-t', '1m');
      ok(r);
      ok(await k('kill', bookingName(r.stdout), '-n', 'kiwitest-nobody-here'));
    });

    it('extend: bad -t (exit 2), unknown booking (exit 3)', async () => {
      let r = await k('extend', 'nosuch', '-t', '+5m');
      ok(r, 3);
      r = await k('extend', 'nosuch', '-t', '+later');
      ok(r, 2);
      assert.match(r.stderr, /-t \+later: .*write \+30m to add/);
      r = await k('extend', 'nosuch');
      ok(r, 2);
    });
  });

  describe('cordon, uncordon, drain', () => {
    it('cordon keeps new bookings off; uncordon lets them in', async () => {
      let r = await k('cordon', 'n10');
      ok(r);
      assert.match(r.stdout, /node.kiwi.dev\/n10 cordoned/);
      ok(await k("cordon", "n10"));
      r = await k('alloc', '-u', alice.name, '-w', 'n10', '-t', '5m');
      ok(r, 9);
      assert.match(r.stderr, /refused \(Rejected\): node n10 is cordoned/);
      assert.match((await k('info')).stdout, /n10\s+cordoned/);
      r = await k('uncordon', 'n10');
      ok(r);
      assert.match(r.stdout, /n10 uncordoned/);
      r = await k('cordon', 'nosuch');
      ok(r, 3);
      r = await c.as(alice, ['cordon', 'n10']);
      ok(r, 7);
    });

    it('drain cordons and waits for the holder, showing progress; --cancel ends it', async () => {
      const r0 = await k('alloc', '-u', alice.name, '-w', 'n10', '-t', '10m');
      ok(r0);
      const name = bookingName(r0.stdout);
      let r = await k('drain', 'n10', '--timeout', '1s');
      ok(r, 8);
      assert.match(r.stdout, /n10 cordoned/);
      assert.match(r.stderr, new RegExp(`draining \\(1 of 1 still held\\) n10: ${alice.name}/${name} until \\d\\d:\\d\\d`));
      r = await k('drain', 'n10', '--cancel', '--timeout', '20s');
      ok(r);
      assert.match(r.stdout, new RegExp(`booking ${alice.name}/${name} cancelled \\(it held n10\\)`));
      assert.match(r.stdout, /n10 drained: no booking holds it/);
      await waitFor(async () => (await phase(alice.name, name)) === 'Expired', { what: 'the drained booking to expire' });
      // The operator saw the drain request: the node shows Drained, with the reason in its events.
      await waitFor(async () => JSON.parse((await k('get', 'node', 'n10', '-o', 'json')).stdout).status?.phase === 'Drained', { what: 'n10 Drained' });
      ok(await k('uncordon', 'n10'));
      await waitFor(async () => JSON.parse((await k('get', 'node', 'n10', '-o', 'json')).stdout).status?.phase !== 'Drained', { what: 'n10 back in service' });
    });
  });

  describe('import-kiwi', () => {
    it('--dry-run writes nothing; then it applies Nodes and the ClusterConfig and lists what it left out', async () => {
      const file = join(tmp, 'config.json');
      writeFileSync(file, JSON.stringify({ workers: { OLD_1: ['10.1.0.1', 22, '08:00-20:00', 'cpu'], old2: ['10.1.0.2', 2200] }, worker_ssh_bypass: ['root', 'kiwitest-ctl-bob'], timezone: 2, worker_shared_path: '/nfs/kiwi' }));
      let r = await k('import-kiwi', file, '--dry-run');
      ok(r);
      assert.match(r.stdout, /node.kiwi.dev\/old-1 created \(dry run\)/);
      assert.equal((await k('get', 'node', 'old-1')).code, 3);
      r = await k('import-kiwi', file);
      ok(r);
      assert.match(r.stdout, /node.kiwi.dev\/old-1 created\nnode.kiwi.dev\/old2 created\nclusterconfig.kiwi.dev\/default configured/);
      assert.match(r.stderr, /not carried over, or changed on the way \(\d+\):\n  - workers.OLD_1: renamed to node "old-1"/);
      assert.match(r.stderr, /worker_shared_path: not needed/);
      const cc = JSON.parse((await k('get', 'cc', 'default', '-o', 'json')).stdout);
      assert.deepEqual(cc.spec.sshBypassUsers, ['kiwitest-ctl-bob']);
      assert.equal(cc.spec.defaultDuration, 3600, 'the settings init wrote are kept');
      const n = JSON.parse((await k('get', 'node', 'old-1', '-o', 'json')).stdout);
      assert.deepEqual(n.spec.reservableWindows, [{ start: '08:00', end: '20:00', timeZone: 'Etc/GMT-2' }]);
      r = await k('import-kiwi', file);
      ok(r);
      assert.match(r.stdout, /old-1 unchanged/);
      ok(await k('delete', 'node', 'old-1', 'old2'));
    });

    it('refuses malformed JSON, a file that is not a Kiwi config, a missing file (exit 2)', async () => {
      const bad = join(tmp, 'bad.json');
      writeFileSync(bad, '{"workers": {');
      let r = await k('import-kiwi', bad);
      ok(r, 2);
      assert.match(r.stderr, /malformed JSON/);
      writeFileSync(bad, '[1,2]');
      r = await k('import-kiwi', bad);
      ok(r, 2);
      assert.match(r.stderr, /not a Kiwi config/);
      r = await k('import-kiwi', join(tmp, 'nope.json'));
      ok(r, 2);
      assert.match(r.stderr, /cannot read it \(ENOENT\)/);
    });
  });

  describe('completion and help', () => {
    const complete = (script: string, line: string) => {
      // Real bash: load the script, set the words as readline would, call the function.
      const words = line.split(' ');
      const prog = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _kiwictl; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = spawnSync('bash', ['--norc', '-c', prog], { encoding: 'utf8', env: { PATH: `${join(ROOT, 'bin')}:${process.env.PATH}`, ...c.env } });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').filter(Boolean);
    };

    it('bash completes verbs, flags, kinds and node names from the cluster', async () => {
      const r = await k('completion', 'bash');
      ok(r);
      assert.deepEqual(complete(r.stdout, 'kiwictl al'), ['alloc']);
      assert.ok(complete(r.stdout, 'kiwictl extend bk --t').includes('--time') || complete(r.stdout, 'kiwictl extend bk --t').includes('--timeout'));
      assert.deepEqual(complete(r.stdout, 'kiwictl get c'), ['clusterconfigs', 'cc']);
      assert.deepEqual(complete(r.stdout, 'kiwictl cordon n'), ['n1', 'n10', 'n2', 'n3']);
      assert.deepEqual(complete(r.stdout, 'kiwictl --endpoints x alloc -w n1'), ['n1', 'n10']);
      assert.deepEqual(complete(r.stdout, 'kiwictl dev '), ['up', 'down', 'status']);
      assert.deepEqual(complete(r.stdout, 'kiwictl wait bk --for phase=A'), ['phase=Active']);
    });

    it('zsh gets a script; an unknown shell is refused (exit 2)', async () => {
      const r = await k('completion', 'zsh');
      ok(r);
      assert.match(r.stdout, /^#compdef kiwictl/);
      assert.match(r.stdout, /bashcompinit/);
      // Real zsh (installed by scripts/install-deps.sh): the script loads under compinit and
      // registers its completer for kiwictl.
      const script = join(tmp, 'kiwictl.zsh');
      writeFileSync(script, r.stdout);
      const z = spawnSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -D; source ${script}; print -r -- \${_comps[kiwictl]}`], { encoding: 'utf8' });
      assert.equal(z.status, 0, z.stderr);
      assert.match(z.stdout.trim(), /-F _kiwictl$/);
      ok(await k('completion', 'tcsh'), 2);
    });

    it('every verb has --help with examples', async () => {
      for (const verb of ['alloc', 'run', 'kill', 'extend', 'wait', 'info', 'get', 'cordon', 'uncordon', 'drain', 'init', 'add-node', 'import-kiwi', 'completion', 'delete']) {
        const r = await k(verb, '--help');
        ok(r);
        assert.match(r.stdout, /Examples:\n  /, `${verb} --help has examples`);
      }
      assert.match((await k('--help')).stdout, /9 +refused/);
    });
  });
  describe('ClusterConfig admins', () => {
    it('a user listed in admins may book for others and administer (init --admin)', async () => {
      let r = await k('init', '--admin', bob.name);
      ok(r);
      assert.match(r.stdout, /default configured/);
      r = await c.as(bob, ['alloc', '-u', alice.name, '-w', 'n2', '-t', '1m']);
      ok(r);
      const name = bookingName(r.stdout);
      ok(await c.as(bob, ['kill', `${alice.name}/${name}`]));
      ok(await c.as(bob, ['cordon', 'n2']));
      ok(await c.as(bob, ['uncordon', 'n2']));
      ok(await c.as(alice, ['cordon', 'n2']), 7);
    });
  });
});

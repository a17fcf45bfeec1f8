// kiwictl's verbs end to end: the real built binary as a child process against a real etcd.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import type { Etcd3 } from 'etcd3';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import type { Store } from '../../../crds/api/index.js';
import { ensureBuilt, kiwictl, KIWICTL, ROOT } from './cli.js';

const me = userInfo().username;

/** Alive and not a zombie (PID 1 reaps orphans slowly on these machines). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('kiwictl verbs (real etcd, real binary)', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let client: Etcd3;
  let store: Store;
  let tmp: string;
  let env: Record<string, string>;
  const file = (name: string, text: string) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  const k = (args: string[], input?: string) => kiwictl(args, { env, input });
  const revision = async () => (await client.get('/kiwi/none').exec()).header.revision;

  before(async () => {
    await ensureBuilt();
    etcd = await startEtcd();
    client = etcd.client();
    store = etcd.store();
    tmp = mkdtempSync(join(tmpdir(), 'kiwitest-verbs-'));
    env = { KIWI_ENDPOINTS: etcd.endpoint };
  });
  after(async () => {
    await etcd?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const nodes = file.bind(null);
  let objects: string;
  before(() => {
    objects = nodes(
      'objects.yaml',
      `apiVersion: kiwi.dev/v1alpha1
kind: Node
metadata: {name: n01, labels: {gpu: a100}}
spec: {address: 10.0.0.1}
---
apiVersion: kiwi.dev/v1alpha1
kind: Node
metadata: {name: n02}
spec: {address: 10.0.0.2, unschedulable: true}
---
apiVersion: kiwi.dev/v1alpha1
kind: Booking
metadata: {name: bk1}
spec: {nodes: [n01], duration: 90m}
`,
    );
  });

  describe('apply', () => {
    it('--dry-run validates, says what would happen and writes nothing', async () => {
      const rev = await revision();
      const r = await k(['apply', '-f', objects, '--dry-run']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'node.kiwi.dev/n01 created (dry run)\nnode.kiwi.dev/n02 created (dry run)\nbooking.kiwi.dev/bk1 created (dry run)\n');
      assert.equal(await revision(), rev);
    });

    it('creates, defaulting a booking\'s namespace and user to the caller', async () => {
      const r = await k(['apply', '-f', objects]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'node.kiwi.dev/n01 created\nnode.kiwi.dev/n02 created\nbooking.kiwi.dev/bk1 created\n');
      const bk = await store.mustGet({ kind: 'Booking', name: 'bk1', namespace: me });
      assert.equal(bk.spec.user, me);
      assert.equal(bk.spec.duration, 5400, 'the duration is stored as seconds');
    });

    it('is idempotent: the same file again prints unchanged and leaves the revision alone', async () => {
      const rev = await revision();
      const r = await k(['apply', '-f', objects]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'node.kiwi.dev/n01 unchanged\nnode.kiwi.dev/n02 unchanged\nbooking.kiwi.dev/bk1 unchanged\n');
      assert.equal(await revision(), rev);
    });

    it('configures a changed object, from stdin (-f -), and dry-run reports it without writing', async () => {
      const changed = 'apiVersion: kiwi.dev/v1alpha1\nkind: Node\nmetadata: {name: n01, labels: {gpu: a100}}\nspec: {address: 10.0.0.11}\n';
      const rev = await revision();
      const dry = await k(['apply', '-f', '-', '--dry-run'], changed);
      assert.equal(dry.stdout, 'node.kiwi.dev/n01 configured (dry run)\n');
      assert.equal(await revision(), rev);
      const r = await k(['apply', '-f', '-'], changed);
      assert.equal(r.stdout, 'node.kiwi.dev/n01 configured\n');
      assert.equal((await store.mustGet({ kind: 'Node', name: 'n01' })).spec?.address, '10.0.0.11');
    });

    it('applies a directory and JSON', async () => {
      const dir = mkdtempSync(join(tmp, 'dir-'));
      writeFileSync(join(dir, 'a.json'), JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name: 'n03' }, spec: { address: '10.0.0.3' } }));
      writeFileSync(join(dir, 'b.yaml'), `apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: bk2, namespace: bob}\nspec: {nodes: [n02], duration: 1h}\n`);
      const r = await k(['apply', '-f', dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'node.kiwi.dev/n03 created\nbooking.kiwi.dev/bk2 created\n');
      assert.equal((await store.mustGet({ kind: 'Booking', name: 'bk2', namespace: 'bob' })).spec.user, 'bob', 'spec.user defaults to the namespace');
    });

    it('-n gives bookings without a namespace one, and refuses a contradicting one', async () => {
      const doc = 'apiVersion: kiwi.dev/v1alpha1\nkind: Booking\nmetadata: {name: bk3}\nspec: {nodes: [n01], duration: 10m}\n';
      const r = await k(['apply', '-n', 'carol', '-f', '-', '--dry-run'], doc);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'booking.kiwi.dev/bk3 created (dry run)\n');
      const clash = await k(['apply', '-n', 'carol', '-f', '-'], doc.replace('{name: bk3}', '{name: bk3, namespace: dave}'));
      assert.equal(clash.code, 2);
      assert.match(clash.stderr, /stdin \(Booking dave\/bk3\): metadata\.namespace is "dave" but -n says "carol"/);
    });

    it('needs -f', async () => {
      const r = await k(['apply']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^error: apply needs at least one -f/);
    });
  });

  describe('get', () => {
    before(async () => {
      const now = Date.now();
      await store.updateStatus({ kind: 'Node', name: 'n01' }, {
        phase: 'Ready',
        booking: { name: 'bk1', namespace: me, user: me, since: new Date(now).toISOString(), until: new Date(now + 5400e3).toISOString() },
        capacity: { cpus: 8 },
      });
      await store.updateStatus({ kind: 'Booking', name: 'bk1', namespace: me }, {
        phase: 'Active', nodes: ['n01'], startTime: new Date(now).toISOString(), endTime: new Date(now + 5400e3 - 30e3).toISOString(),
      });
      await store.updateStatus({ kind: 'Booking', name: 'bk2', namespace: 'bob' }, {
        phase: 'Pending', nodes: ['n02'], startTime: new Date(now + 720e3 + 30e3).toISOString(), endTime: new Date(now + 4320e3).toISOString(),
        message: `waits for n02: held by ${me}/bk1 until 15:30`,
      });
    });

    it('prints nodes as a table with NAME STATUS USER BOOKING UNTIL', async () => {
      const r = await k(['get', 'nodes']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.deepEqual(lines[0].split(/\s+/), ['NAME', 'STATUS', 'USER', 'BOOKING', 'UNTIL']);
      assert.match(lines[1], new RegExp(`^n01\\s+Ready\\s+${me}\\s+bk1\\s+\\S+`));
      assert.match(lines[2], /^n02\s+NoDaemon,SchedulingDisabled\s+-\s+-\s+-$/);
      assert.equal(lines.length, 4);
    });

    it('-o wide adds the priority-1 columns', async () => {
      const r = await k(['get', 'no', '-o', 'wide']);
      assert.deepEqual(r.stdout.split('\n')[0].split(/\s+/), ['NAME', 'STATUS', 'USER', 'BOOKING', 'UNTIL', 'ADDRESS', 'CPUS', 'HEARTBEAT']);
      assert.match(r.stdout, /^n01\s.*10\.0\.0\.11\s+8\s+-$/m);
    });

    it('prints bookings with USER PHASE NODES START END REMAINING, -A adds NAMESPACE and MESSAGE for Pending', async () => {
      const mine = await k(['get', 'bookings']);
      assert.equal(mine.code, 0, mine.stderr);
      assert.deepEqual(mine.stdout.split('\n')[0].split(/\s+/), ['NAME', 'USER', 'PHASE', 'NODES', 'START', 'END', 'REMAINING']);
      // START and END: a time today, or "Nov 23 00:02" on another day (a run near midnight)
      const T = '(?:\\w{3} \\d\\d )?\\d\\d:\\d\\d';
      assert.match(mine.stdout, new RegExp(`^bk1\\s+${me}\\s+Active\\s+n01\\s+${T}\\s+${T}\\s+1h30m$`, 'm')); // time left rounds up
      assert.doesNotMatch(mine.stdout, /bk2/, 'only the caller\'s namespace by default');
      const all = await k(['get', 'bk', '-A']);
      assert.deepEqual(all.stdout.split('\n')[0].split(/\s+/), ['NAMESPACE', 'NAME', 'USER', 'PHASE', 'NODES', 'START', 'END', 'REMAINING', 'MESSAGE']);
      assert.match(all.stdout, /^bob\s+bk2\s+bob\s+Pending\s+n02\s+(?:\w{3} \d\d )?\d\d:\d\d\s+(?:\w{3} \d\d )?\d\d:\d\d\s+in 13m\s+waits for n02: held by/m);
      const bob = await k(['get', 'bk', '-n', 'bob', '-o', 'name']);
      assert.equal(bob.stdout, 'booking.kiwi.dev/bk2\n');
    });

    it('-o yaml and -o json print the object, or a List', async () => {
      const one = yaml.load((await k(['get', 'bk', 'bk1', '-o', 'yaml'])).stdout) as any;
      assert.equal(one.kind, 'Booking');
      assert.equal(one.status.phase, 'Active');
      assert.equal(one.metadata.namespace, me);
      const list = JSON.parse((await k(['get', 'nodes', '-o', 'json'])).stdout);
      assert.equal(list.kind, 'List');
      assert.deepEqual(list.items.map((n: any) => n.metadata.name), ['n01', 'n02', 'n03']);
    });

    it('reads the same through the Store (KIWI_READ_VIA=etcd3) as through the fast reader', async () => {
      for (const args of [['get', 'nodes', '-o', 'json'], ['get', 'bk', '-A', '-o', 'wide'], ['describe', 'node', 'n01']]) {
        const fast = await k(args);
        const slow = await kiwictl(args, { env: { ...env, KIWI_READ_VIA: 'etcd3' } });
        assert.equal(slow.code, 0, slow.stderr);
        assert.equal(slow.stdout.replace(/\d+s ago/g, ''), fast.stdout.replace(/\d+s ago/g, ''), args.join(' '));
      }
    });

    it('-l selects by label', async () => {
      const r = await k(['get', 'nodes', '-l', 'gpu=a100', '-o', 'name']);
      assert.equal(r.stdout, 'node.kiwi.dev/n01\n');
      const none = await k(['get', 'nodes', '-l', 'gpu=h100']);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /No nodes found/);
      const bad = await k(['get', 'nodes', '-l', 'gpu in a100']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^error: label selector/);
    });

    it('a missing name exits 3; an unknown kind or flag exits 2', async () => {
      const r = await k(['get', 'node', 'nope']);
      assert.equal(r.code, 3);
      // no operator runs in this file: the staleness hint comes first, on stderr
      assert.match(r.stderr, /^(warning: no kiwi-operator is leading .*\n)?error: nodes "nope" not found\n$/);
      const kind = await k(['get', 'pods']);
      assert.equal(kind.code, 2);
      assert.match(kind.stderr, /^error: unknown kind "pods": Kiwi knows bookings/);
      const flag = await k(['get', 'nodes', '--colour']);
      assert.equal(flag.code, 2);
      assert.match(flag.stderr, /^error: unknown option '--colour'/);
      const out = await k(['get', 'nodes', '-o', 'xml']);
      assert.equal(out.code, 2);
    });

    it('-w prints the list, then a line per change, and exits 0 on Ctrl-C (SIGINT)', async () => {
      const p = spawn(KIWICTL, ['get', 'nodes', '-w'], { cwd: ROOT, env: { ...process.env, ...env, KIWI_DEV_STATE_DIR: '/nonexistent' } });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
      try {
        await waitFor(() => /^n03 /m.test(out), { what: 'the initial list' });
        await store.updateStatus({ kind: 'Node', name: 'n03' }, { phase: 'NotReady' });
        await waitFor(() => /^n03\s+NotReady/m.test(out), { what: 'the change line' });
        p.kill('SIGINT');
        assert.equal(await exited, 0, err);
        assert.equal(out.split('\n')[0].split(/\s+/)[0], 'NAME');
      } finally {
        if (p.exitCode === null) p.kill('SIGKILL');
      }
    });
  });

  describe('describe, delete, explain', () => {
    it('describe shows metadata, spec, status and events oldest first', async () => {
      const ev = (time: string, reason: string) => ({ time, kind: 'Booking' as const, namespace: me, name: 'bk1', type: 'Normal' as const, reason, message: `${reason} happened`, source: 'kiwi-operator' });
      await store.recordEvent(ev('2026-01-01T10:05:00Z', 'Started'));
      await store.recordEvent(ev('2026-01-01T10:00:00Z', 'Scheduled'));
      const r = await k(['describe', 'booking', 'bk1']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Name:\s+bk1$/m);
      assert.match(r.stdout, new RegExp(`^Namespace:\\s+${me}$`, 'm'));
      assert.match(r.stdout, /^Spec:\n(  .*\n)*  Duration:\s+5400$/m);
      assert.match(r.stdout, /^Status:\n(  .*\n)*  Phase:\s+Active$/m);
      assert.ok(r.stdout.indexOf('Scheduled happened') < r.stdout.indexOf('Started happened'), r.stdout);
      const missing = await k(['describe', 'node', 'nope']);
      assert.equal(missing.code, 3);
    });

    it('delete by name and by -f; a missing object exits 3', async () => {
      const r = await k(['delete', 'node', 'n03']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'node.kiwi.dev/n03 deleted\n');
      assert.equal(await store.get({ kind: 'Node', name: 'n03' }), undefined);
      const again = await k(['delete', 'node', 'n03']);
      assert.equal(again.code, 3);
      assert.match(again.stderr, /^error: Node n03 not found/);
      const f = await k(['delete', '-f', objects]);
      assert.equal(f.stdout, 'node.kiwi.dev/n01 deleted\nnode.kiwi.dev/n02 deleted\nbooking.kiwi.dev/bk1 deleted\n');
      assert.equal((await store.list('Node')).length, 0);
    });

    it('explain documents kinds and fields from the CRDs, without etcd', async () => {
      const r = await kiwictl(['explain', 'booking.spec.duration'], { env: { KIWI_ENDPOINTS: 'http://127.0.0.1:1' } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^KIND:\s+Booking$/m);
      assert.match(r.stdout, /^FIELD:\s+duration <integer or string>$/m);
      assert.match(r.stdout, /How long the booking lasts/);
      const spec = await kiwictl(['explain', 'bk.spec'], { env });
      assert.match(spec.stdout, /^ {2}user\t<string>$/m);
      assert.match(spec.stdout, /^ {2}queue\t<boolean> \(default true\)$/m);
      const sig = await kiwictl(['explain', 'booking.spec.endSignal.signal'], { env });
      assert.match(sig.stdout, /ENUM:\n\s+SIGHUP/);
      const bad = await kiwictl(['explain', 'booking.spec.nope'], { env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /field "nope" does not exist in Booking\.spec; it has: user, nodes/);
    });
  });

  describe('errors and endpoints', () => {
    it('an unreachable etcd fails within seconds with exit 6, naming the endpoint and the fix', async () => {
      const port = await freePort();
      const r = await kiwictl(['get', 'nodes'], { env: { KIWI_ENDPOINTS: `http://127.0.0.1:${port}` } });
      assert.equal(r.code, 6, r.stderr);
      assert.ok(r.ms < 3000, `took ${r.ms} ms`);
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
      assert.match(r.stderr, new RegExp(`^error: cannot reach etcd at http://127\\.0\\.0\\.1:${port} \\(from KIWI_ENDPOINTS\\): .*kiwictl dev up.*--endpoints / KIWI_ENDPOINTS`));
    });

    it('an endpoint that accepts but never answers fails within ~one deadline (get and apply)', async () => {
      const sockets: Socket[] = [];
      const silent = createServer((s) => void sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const ep = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      try {
        for (const args of [['get', 'nodes'], ['apply', '-f', objects]]) {
          const r = await kiwictl(args, { env: { KIWI_ENDPOINTS: ep } });
          assert.equal(r.code, 6, `${args[0]}: ${r.stderr}`);
          assert.ok(r.ms < 3500, `${args[0]} took ${r.ms} ms`);
          assert.match(r.stderr, /^error: cannot reach etcd at .* no answer within 2000 ms/);
        }
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((r) => silent.close(r));
      }
    });

    it('reads endpoints from --endpoints over KIWI_ENDPOINTS, and from a config file', async () => {
      const flag = await kiwictl(['get', 'nodes', '--endpoints', etcd.endpoint], { env: { KIWI_ENDPOINTS: 'http://127.0.0.1:1' } });
      assert.equal(flag.code, 0, flag.stderr);
      const cfg = file('config.yaml', `endpoints: [${etcd.endpoint}]\n`);
      const viaFile = await kiwictl(['get', 'nodes', '--config', cfg], {});
      assert.equal(viaFile.code, 0, viaFile.stderr);
      const viaEnv = await kiwictl(['get', 'nodes'], { env: { KIWI_CONFIG: cfg } });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
    });

    it('--help lists the exit codes, and every verb\'s help has examples', async () => {
      const r = await kiwictl(['--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Exit codes:\n(.*\n)*\s+6\s+etcd unavailable/);
      for (const verb of [['apply'], ['get'], ['describe'], ['delete'], ['explain'], ['dev'], ['dev', 'up'], ['dev', 'down'], ['dev', 'status']]) {
        const h = await kiwictl([...verb, '--help']);
        assert.equal(h.code, 0, verb.join(' '));
        assert.match(h.stdout, /Examples:\n(\s+#.*\n)*\s+kiwictl /, `${verb.join(' ')} --help has no examples`);
      }
    });
  });

  describe('dev up | status | down', () => {
    let stateDir: string;
    before(() => {
      stateDir = mkdtempSync(join(tmpdir(), 'kiwitest-dev-'));
    });
    after(() => {
      // Stop what this test started, by its recorded PID, if a failed assertion left it running.
      const stateFile = join(stateDir, 'state.json');
      if (existsSync(stateFile)) {
        const { pid } = JSON.parse(readFileSync(stateFile, 'utf8'));
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      rmSync(stateDir, { recursive: true, force: true });
    });

    it('starts a detached etcd, is idempotent, is used by default, reports status, stops by PID', async () => {
      const [port, peer] = [await freePort(), await freePort()];
      const denv = { KIWI_DEV_STATE_DIR: stateDir };
      const up = await kiwictl(['dev', 'up', '--port', String(port), '--peer-port', String(peer)], { env: denv });
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, new RegExp(`dev etcd running at http://127\\.0\\.0\\.1:${port} \\(pid (\\d+)\\)`));
      const pid = Number(/pid (\d+)/.exec(up.stdout)![1]);
      assert.ok(alive(pid), 'etcd outlives kiwictl');

      const again = await kiwictl(['dev', 'up'], { env: denv });
      assert.equal(again.code, 0);
      assert.match(again.stdout, /already running/);

      const st = await kiwictl(['dev', 'status'], { env: denv });
      assert.match(st.stdout, /dev etcd: running/);
      assert.match(st.stdout, new RegExp(`endpoint:\\s+http://127\\.0\\.0\\.1:${port}`));
      assert.match(st.stdout, new RegExp(`pid:\\s+${pid}`));
      assert.match(st.stdout, new RegExp(`data dir:\\s+${stateDir}/data`));

      // With no endpoint given anywhere, kiwictl uses the dev etcd.
      const get = await kiwictl(['get', 'nodes'], { env: denv });
      assert.equal(get.code, 0, get.stderr);

      const down = await kiwictl(['dev', 'down'], { env: denv });
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, new RegExp(`dev etcd stopped \\(pid ${pid}\\)`));
      assert.ok(!alive(pid), 'the etcd is gone');

      const st2 = await kiwictl(['dev', 'status'], { env: denv });
      assert.match(st2.stdout, /dev etcd: not running/);
      const down2 = await kiwictl(['dev', 'down'], { env: denv });
      assert.match(down2.stdout, /not running/);
    });

    it('says how to install etcd when it is not on PATH', async () => {
      // A PATH with node on it and nothing else
      const bin = mkdtempSync(join(tmpdir(), 'kiwitest-path-'));
      symlinkSync(process.execPath, join(bin, 'node'));
      const r = await kiwictl(['dev', 'up'], { env: { KIWI_DEV_STATE_DIR: stateDir, PATH: bin } });
      rmSync(bin, { recursive: true, force: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /^error: etcd is not installed .*apt-get install etcd-server/);
    });
  });
});

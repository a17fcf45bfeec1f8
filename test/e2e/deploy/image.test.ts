// The Containerfile builds the image the chart runs, with the real buildah, and the image does
// what the chart relies on. No container registry is reachable here, so the documented base
// (debian:bookworm-slim) cannot be pulled: the first test shows build-image.sh saying so; the
// others build from a Debian base that scripts/image-base.sh makes with debootstrap from Debian's
// packages (which are reachable), running the Containerfile's own apt-get step.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { startEtcd, stopProc } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';

const have = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

describe('the Kiwi image (Containerfile, scripts/build-image.sh)', function () {
  this.timeout(300_000);
  const store = mkdtempSync(join(tmpdir(), 'kiwitest-buildah-'));
  const flags = `--root ${store}/root --runroot ${store}/run --storage-driver vfs`;
  const env = { ...process.env, KIWI_BUILDAH_FLAGS: flags };
  const buildah = (...args: string[]) => execFileSync('buildah', [...flags.split(' '), ...args], { encoding: 'utf8' }).trim();
  const tag = 'localhost/kiwitest-kiwi:test';

  before(function () {
    const missing = ['buildah', 'debootstrap'].filter((b) => !have(b));
    if (missing.length) {
      console.log(`      skipped: ${missing.join(' and ')} missing (scripts/install-deps.sh installs them as root)`);
      this.skip();
    }
  });
  after(() => {
    spawnSync('buildah', [...flags.split(' '), 'rm', '--all']);
    spawnSync('buildah', [...flags.split(' '), 'rmi', '--all', '--force']);
    rmSync(store, { recursive: true, force: true });
  });

  it('says exactly why when the base image cannot be pulled (no registry reachable here)', () => {
    const r = spawnSync('bash', ['scripts/build-image.sh', '--base', 'docker.io/library/debian:bookworm-slim', '--tag', tag], { encoding: 'utf8', env });
    if (r.status === 0) return console.log('      (a registry is reachable: the documented base was pulled and built)');
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /build-image: cannot pull the base image docker\.io\/library\/debian:bookworm-slim: /);
  });

  it('builds from a Debian base made with debootstrap, with Node and the four programs in it', () => {
    const base = execFileSync('bash', ['scripts/image-base.sh'], { encoding: 'utf8', env }).trim();
    assert.equal(base, 'localhost/kiwi-base:bookworm');
    execFileSync('bash', ['scripts/build-image.sh', '--base', base, '--tag', tag], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const c = buildah('from', tag);
    try {
      const out = buildah('run', '--isolation', 'chroot', c, '--', 'sh', '-c',
        'node --version; kiwictl --version; kiwi-operator --help | head -1; kiwi-node-daemon --help | head -1; kiwi-web --help | head -1; test -f /usr/lib/kiwi/pam_kiwi.so && echo pam-module; ls /usr/lib/x86_64-linux-gnu/ | grep -E "^libnss_(sss|ldap)\\.so"');
      const lines = out.split('\n');
      assert.match(lines[0], /^v2[2-9]\./);
      assert.equal(lines[1], JSON.parse(readFileSync('package.json', 'utf8')).version);
      assert.match(lines[2], /^Usage: kiwi-operator/);
      assert.match(lines[3], /^Usage: kiwi-node-daemon/);
      assert.match(lines[4], /^Usage: kiwi-web/);
      assert.equal(lines[5], 'pam-module');
      assert.deepEqual(lines.slice(6).sort(), ['libnss_ldap.so.2', 'libnss_sss.so.2']);
    } finally {
      buildah('rm', c);
    }
  });

  it('runs kiwi-web as the chart does (its entry point, the page\'s files), serving the calendar of a real etcd', async () => {
    const etcd = await startEtcd();
    const port = await freePort();
    const c = buildah('from', tag);
    // buildah's chroot isolation shares the host's network: the container reaches the test's etcd on loopback
    const p = spawn('buildah', [...flags.split(' '), 'run', '--isolation', 'chroot', '--user', '65532:65532', c, '--', 'kiwi-web', '--endpoints', etcd.endpoint, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor(() => out.includes('kiwi-web: calendar at'), { timeoutMs: 30_000, what: `kiwi-web in the image to serve (output: ${out})` });
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script[^>]+app\.js/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/app.js`)).status, 200, 'the page\'s bundle is in the image');
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, 'ready: it read the cluster from etcd');
      const nodes = await (await fetch(`http://127.0.0.1:${port}/apis/kiwi.dev/v1alpha1/nodes`)).json();
      assert.equal(nodes.kind, 'NodeList');
    } finally {
      await stopProc(p);
      spawnSync('buildah', [...flags.split(' '), 'rm', c]);
      await etcd.stop();
    }
  });

  /**
   * Runs `lookup` (getent, as node-daemon/src/enforce/procs.ts does) in the image with a fake host
   * /etc mounted at /host/etc, after `prepare`; between the two, while the container runs, the host
   * adds kiwitest-late the way useradd does (a new passwd renamed over the old one: a new inode).
   * Returns the lookup's line.
   */
  async function lookupAfterUseradd(extraVolumes: (hostEtc: string) => string[], prepare: string): Promise<string> {
    const hostEtc = mkdtempSync(join(tmpdir(), 'kiwitest-hostetc-'));
    writeFileSync(join(hostEtc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(hostEtc, 'group'), 'root:x:0:\n');
    writeFileSync(join(hostEtc, 'nsswitch.conf'), 'passwd: files\ngroup: files\n');
    const c = buildah('from', '--volume', `${hostEtc}:/host/etc:ro`, ...extraVolumes(hostEtc).flatMap((v) => ['--volume', v]), tag);
    try {
      const script = `${prepare}; getent passwd kiwitest-late || echo before:missing; while [ ! -e /host/etc/go ]; do sleep 0.05; done; getent passwd kiwitest-late || echo after:missing`;
      const p = spawn('buildah', [...flags.split(' '), 'run', '--isolation', 'chroot', c, '--', 'sh', '-c', script]);
      const exited = new Promise((r) => p.once('exit', r));
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      await waitFor(() => out.includes('before:missing'), { timeoutMs: 30_000, what: 'the first lookup (no such user yet)' });
      writeFileSync(join(hostEtc, 'passwd.new'), 'root:x:0:0:root:/root:/bin/sh\nkiwitest-late:x:4242:4242::/:/bin/sh\n');
      renameSync(join(hostEtc, 'passwd.new'), join(hostEtc, 'passwd'));
      writeFileSync(join(hostEtc, 'go'), '');
      await exited;
      return out.trim().split('\n').pop()!;
    } finally {
      buildah('rm', c);
      rmSync(hostEtc, { recursive: true, force: true });
    }
  }

  it('resolves a user the host adds after the container started (host /etc as a directory, as the chart mounts it)', async () => {
    assert.equal(await lookupAfterUseradd(() => [], 'true'), 'kiwitest-late:x:4242:4242::/:/bin/sh');
  });

  it('(the chart’s old single-file mount of /etc/passwd keeps the old inode: the same user stays unknown)', async () => {
    // the image's /etc/passwd links to /host/etc/passwd; point it at a file mount instead
    assert.equal(await lookupAfterUseradd((etc) => [`${join(etc, 'passwd')}:/etc/kiwitest-passwd:ro`], 'ln -sf /etc/kiwitest-passwd /etc/passwd'), 'after:missing');
  });
});

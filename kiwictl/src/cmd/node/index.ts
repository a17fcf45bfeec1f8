// kiwictl node install | uninstall | install-pam | uninstall-pam: puts the node daemon on a
// machine (its bundled program, a wrapper in /usr/bin, the systemd unit, its settings, the
// PAM helper and, with --pam, the PAM line), and takes it all off again. Every file it writes
// is listed in /var/lib/kiwi/installed-files.json, so uninstall removes exactly those.
// --root installs under another directory (a node image being built, or the tests).
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../../../crds/api/atomic-file.js';
import { ForbiddenError, InvalidError } from '../../../../crds/api/errors.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { DAEMON_UNIT, ENV_FILE, LIB_DIR, MANIFEST, PROGRAMS, envFile, nodeCredentialFile, wrapper, type NodeInstallSettings } from './layout.js';
import { hostname } from 'node:os';

/** The dist/ folder this kiwictl runs from (the bundle is dist/kiwictl.js or a chunk under it). */
function distRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 3; i++, d = dirname(d)) if (existsSync(join(d, 'kiwi-node-daemon.js'))) return d;
  throw new Error('the bundled programs (dist/kiwi-node-daemon.js) are not beside this kiwictl: run it from a built checkout (npm run build)');
}

/** A file shipped with Kiwi: in the checkout beside dist/, or in LIB_DIR beside an installed dist/. */
function shipped(rel: string): string {
  const found = [join(distRoot(), '..', rel), join(distRoot(), '..', 'share', rel)].find((p) => existsSync(p));
  if (!found) throw new Error(`${rel} not found beside ${distRoot()}`);
  return found;
}

function requireRootFor(root: string, what: string): void {
  if (resolve(root) === '/' && process.getuid?.() !== 0) throw new ForbiddenError(`${what} changes system files: run it as root (or with --root DIR to prepare a directory)`);
}

interface Manifest {
  files: string[];
}

function readManifest(root: string): Manifest {
  try {
    return JSON.parse(readFileSync(join(root, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return { files: [] };
  }
}

/** Writes a file if its content differs; returns whether it changed. */
function put(root: string, path: string, content: string | Buffer, mode: number, written: Set<string>): boolean {
  const full = join(root, path);
  written.add(path);
  if (existsSync(full) && readFileSync(full).equals(Buffer.from(content)) && (statSync(full).mode & 0o7777) === mode) return false;
  writeFileAtomic(full, content, { mode });
  return true;
}

/** Whether dest holds the same files (no source maps) with the same contents as src. */
function sameTree(src: string, dest: string): boolean {
  const list = (d: string): string[] =>
    existsSync(d) ? readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.endsWith('.map')).map((e) => join(e.parentPath ?? (e as any).path, e.name).slice(d.length)).sort() : [];
  const a = list(src);
  const b = list(dest);
  return a.length === b.length && a.every((f, i) => f === b[i] && readFileSync(join(src, f)).equals(readFileSync(join(dest, f))));
}

function systemctl(...args: string[]): { ok: boolean; text: string } {
  const r = spawnSync('systemctl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, text: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

const hasSystemd = () => existsSync('/run/systemd/system');

export class NodeInstallOptions implements Options {
  root = '/';
  settings: NodeInstallSettings = {};
  pam = false;
  session = false;
  start = true;
  insecureNoAuth = false;

  complete(_args: string[], f: { root?: string; endpoints?: string; nodeName?: string; address?: string; pam?: boolean; pamSession?: boolean; start?: boolean; insecureNoAuth?: boolean }, ctx: Ctx): void {
    this.insecureNoAuth = Boolean(f.insecureNoAuth);
    this.root = f.root ?? '/';
    // The node's endpoints: as given, else the ones this kiwictl uses (global --endpoints or KIWI_ENDPOINTS).
    this.settings = { endpoints: f.endpoints ?? ctx.globals.endpoints ?? process.env.KIWI_ENDPOINTS, nodeName: f.nodeName, address: f.address };
    this.pam = Boolean(f.pam || f.pamSession);
    this.session = Boolean(f.pamSession);
    this.start = f.start !== false;
  }

  validate(): void {
    if (!this.settings.endpoints) throw usage('node install needs the etcd endpoints the daemon will use: --endpoints URL[,URL...] (or KIWI_ENDPOINTS)');
    envFile(this.settings); // refuses values that cannot go into the env file
  }

  async run(ctx: Ctx): Promise<void> {
    requireRootFor(this.root, 'node install');
    const root = this.root;
    const written = new Set<string>(readManifest(root).files);
    const changed: string[] = [];
    const note = (path: string, c: boolean) => c && changed.push(path);
    await etcdAccess(this, ctx, written, note);

    // The bundled programs: the whole dist/ (entry points and their chunks), replaced as one.
    const src = distRoot();
    const dest = join(root, LIB_DIR, 'dist');
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    if (resolve(src) !== resolve(dest) && !sameTree(src, dest)) {
      rmSync(dest + '.kiwi-tmp', { recursive: true, force: true });
      cpSync(src, dest + '.kiwi-tmp', { recursive: true, filter: (p) => !p.endsWith('.map') });
      rmSync(dest, { recursive: true, force: true });
      renameSync(dest + '.kiwi-tmp', dest);
      changed.push(`${LIB_DIR}/dist/`);
    }
    written.add(`${LIB_DIR}/dist/`);
    for (const p of PROGRAMS) note(`/usr/bin/${p}`, put(root, `/usr/bin/${p}`, wrapper(p), 0o755, written));
    note(DAEMON_UNIT, put(root, DAEMON_UNIT, readFileSync(shipped('manifests/systemd/kiwi-node-daemon.service')), 0o644, written));
    note(ENV_FILE, put(root, ENV_FILE, envFile(this.settings), 0o644, written));
    // What a later install from the installed copy needs (the unit and the PAM helper's source).
    note(`${LIB_DIR}/share/manifests/systemd/kiwi-node-daemon.service`, put(root, `${LIB_DIR}/share/manifests/systemd/kiwi-node-daemon.service`, readFileSync(shipped('manifests/systemd/kiwi-node-daemon.service')), 0o644, written));
    note(`${LIB_DIR}/share/node-daemon/pam/pam_kiwi.c`, put(root, `${LIB_DIR}/share/node-daemon/pam/pam_kiwi.c`, readFileSync(shipped('node-daemon/pam/pam_kiwi.c')), 0o644, written));

    const { installHelper, installPam, DEFAULT_HELPER_PATH } = await import('../../../../node-daemon/src/pam/install.js');
    const helper = installHelper({ root, source: shipped('node-daemon/pam/pam_kiwi.c') });
    written.add(DEFAULT_HELPER_PATH);
    note(DEFAULT_HELPER_PATH, helper.changed);
    put(root, MANIFEST, JSON.stringify({ files: [...written].sort() }, null, 2) + '\n', 0o644, new Set());

    for (const c of changed) ctx.out(`installed ${c}\n`);
    if (!changed.length) ctx.out('the node daemon is installed already; nothing changed\n');
    if (this.pam) {
      const r = installPam({ root, session: this.session });
      ctx.out(r.changed ? `PAM: added the Kiwi check to ${r.file} (backup: ${r.file}.kiwi-backup)\n` : `PAM: ${r.file} has the Kiwi check already\n`);
      for (const w of r.warnings ?? []) ctx.err(`warning: ${w}\n`);
    }
    if (resolve(root) === '/' && this.start && hasSystemd()) {
      for (const args of [['daemon-reload'], ['enable', '--now', 'kiwi-node-daemon'], ...(changed.length ? [['restart', 'kiwi-node-daemon']] : [])]) {
        const r = systemctl(...args);
        if (!r.ok) throw new Error(`systemctl ${args.join(' ')} failed: ${r.text}`);
      }
      ctx.out('kiwi-node-daemon is enabled and running (systemctl status kiwi-node-daemon)\n');
    } else {
      ctx.out(`next: systemctl daemon-reload && systemctl enable --now kiwi-node-daemon${this.pam ? '' : '; then let the PAM check in: kiwictl node install-pam'}\n`);
    }
  }
}

/**
 * Secure by default: asks etcd whether its authentication is on. On: the node daemon gets its
 * own etcd user (kiwi-node-<node>, its role only: crds/api/roles.ts), made with
 * this kiwictl's credentials (etcd's root), its file 0600 in /etc/kiwi/credentials, named in
 * kiwi.env. Off, on a non-loopback address: refused unless --insecure-no-auth.
 */
async function etcdAccess(o: NodeInstallOptions, ctx: Ctx, written: Set<string>, note: (p: string, c: boolean) => void): Promise<void> {
  const [{ parseEndpoints, authVerdict }, { probeAuthOff }] = await Promise.all([import('../../../../crds/api/endpoints.js'), import('../../../../crds/api/etcd.js')]);
  const endpoints = parseEndpoints(o.settings.endpoints!, '--endpoints');
  const tls = ctx.client.credentials().tls;
  const off = await probeAuthOff(endpoints, tls);
  if (off === undefined) {
    ctx.err(`warning: etcd at ${endpoints.join(',')} did not answer: cannot tell whether its authentication is on; the node daemon checks again when it starts\n`);
    return;
  }
  if (off) {
    const v = authVerdict({ endpoints, authOff: true, insecureNoAuth: o.insecureNoAuth });
    if (v.action === 'refuse') throw new ForbiddenError(`node install: ${v.message}`);
    if (v.action === 'warn') {
      ctx.err(`warning: ${v.message}\n`);
      o.settings.insecureNoAuth = true;
    }
    return;
  }
  const node = o.settings.nodeName ?? hostname().split('.')[0];
  const rel = nodeCredentialFile(node);
  const full = join(o.root, rel);
  o.settings.passwordFile = rel;
  written.add(rel);
  if (existsSync(full)) return; // made by an earlier install: kept
  const admin = await import('../admin/index.js');
  const { checkName } = await import('../../../../crds/api/roles.js');
  const bad = checkName(node, 'node');
  if (bad) throw new InvalidError(bad);
  // The install's own endpoints (they may differ from this kiwictl's), with this kiwictl's credentials.
  const { Client } = await import('../../client/index.js');
  const client = new Client({ ...ctx.globals, endpoints: o.settings.endpoints });
  const store = await client.store();
  const pw = admin.newPassword();
  await admin.ensureIdentity(store.etcd, { kind: 'node', node }, pw).finally(() => client.close()).catch((e) => {
    const raw = String((e as Error)?.message ?? e);
    const why = /user name is empty|authentication failed|invalid auth token|Unauthenticated/i.test(raw) ? 'this kiwictl has no etcd credentials that etcd accepts' : raw;
    throw new ForbiddenError(`etcd has authentication on: node install creates the node daemon's etcd user kiwi-node-${node}, which needs etcd's root user (run it with root's credential file: --credentials /etc/kiwi/credentials/root.yaml, written by \`kiwictl admin enable-auth\`); ${why}`);
  });
  admin.writeCredentialFile(`kiwi-node-${node}`, `kiwi-node-${node}`, pw, undefined, full);
  note(rel, true);
  // The node's own user may not write its Node spec (crds/api/roles.ts): register it here, as the admin.
  const reg = new Client({ ...ctx.globals, endpoints: o.settings.endpoints });
  try {
    const s = await reg.store();
    if (!(await s.get({ kind: 'Node', name: node }))) {
      const { API_VERSION } = await import('../../../../crds/api/types.js');
      const address = o.settings.address ?? node;
      await s.create({ apiVersion: API_VERSION, kind: 'Node', metadata: { name: node }, spec: { address, sshPort: 22 } });
      ctx.out(`registered Node ${node} (address ${address}; labels: kiwictl label node ${node} KEY=VALUE)\n`);
    }
  } finally {
    reg.close();
  }
}

export class NodeUninstallOptions implements Options {
  root = '/';
  stop = true;
  complete(_a: string[], f: { root?: string; stop?: boolean }): void {
    this.root = f.root ?? '/';
    this.stop = f.stop !== false;
  }
  validate(): void {}
  async run(ctx: Ctx): Promise<void> {
    requireRootFor(this.root, 'node uninstall');
    const root = this.root;
    if (resolve(root) === '/' && this.stop && hasSystemd()) systemctl('disable', '--now', 'kiwi-node-daemon');
    const { uninstallPam } = await import('../../../../node-daemon/src/pam/install.js');
    const pam = uninstallPam({ root });
    if (pam.changed) ctx.out(`PAM: took the Kiwi check out of ${pam.file}\n`);
    const m = readManifest(root);
    if (!m.files.length && !pam.changed) {
      ctx.out('the node daemon is not installed here (no ' + MANIFEST + '); nothing to remove\n');
      return;
    }
    for (const f of m.files) {
      const full = join(root, f);
      if (!existsSync(full)) continue;
      rmSync(full, { recursive: true, force: true });
      ctx.out(`removed ${f}\n`);
    }
    rmSync(join(root, MANIFEST), { force: true });
    // Empty folders Kiwi made; the state dir's data (the daemon's last view) is kept unless empty.
    for (const d of [`${LIB_DIR}/share/manifests/systemd`, `${LIB_DIR}/share/manifests`, `${LIB_DIR}/share/node-daemon/pam`, `${LIB_DIR}/share/node-daemon`, `${LIB_DIR}/share`, LIB_DIR, '/etc/kiwi', '/var/lib/kiwi']) {
      const full = join(root, d);
      if (existsSync(full) && readdirSync(full).length === 0) rmSync(full, { recursive: true });
    }
    if (resolve(root) === '/' && hasSystemd()) systemctl('daemon-reload');
  }
}

export class PamOptions implements Options {
  root = '/';
  service = 'sshd';
  session = false;
  helperArgs: string[] = [];
  constructor(readonly install: boolean) {}
  complete(_a: string[], f: { root?: string; service?: string; session?: boolean; socket?: string; bypassFile?: string; timeout?: string }): void {
    this.root = f.root ?? '/';
    this.service = f.service ?? 'sshd';
    this.session = Boolean(f.session);
    if (f.socket) this.helperArgs.push(`--socket=${f.socket}`);
    if (f.bypassFile) this.helperArgs.push(`--bypass-file=${f.bypassFile}`);
    if (f.timeout) this.helperArgs.push(`--timeout=${f.timeout}`);
  }
  validate(): void {}
  async run(ctx: Ctx): Promise<void> {
    requireRootFor(this.root, this.install ? 'node install-pam' : 'node uninstall-pam');
    const pam = await import('../../../../node-daemon/src/pam/install.js');
    try {
      if (this.install) {
        const h = pam.installHelper({ root: this.root, source: shipped('node-daemon/pam/pam_kiwi.c') });
        if (h.changed) ctx.out(`installed ${h.path}\n`);
        const r = pam.installPam({ root: this.root, service: this.service, session: this.session, helperArgs: this.helperArgs });
        ctx.out(r.changed ? `added the Kiwi check to ${r.file} (backup: ${r.file}.kiwi-backup); keep a root shell open and try a login before you close it\n` : `${r.file} has the Kiwi check already\n`);
        for (const w of r.warnings ?? []) ctx.err(`warning: ${w}\n`);
      } else {
        const r = pam.uninstallPam({ root: this.root, service: this.service });
        ctx.out(r.changed ? `took the Kiwi check out of ${r.file}\n` : `${r.file} has no Kiwi check; nothing changed\n`);
      }
    } catch (e) {
      // The installer's refusals (no account stack, no compiler for the PAM module, a bad argument) are the user's to fix.
      if (e instanceof Error && !(e instanceof ForbiddenError)) throw new InvalidError(e.message);
      throw e;
    }
  }
}

export function registerNode(program: Command): Command {
  const node = program.command('node').description('Install or remove the node daemon and the PAM login check on this machine (root)');
  node
    .command('install')
    .description('Install the node daemon (program, systemd unit, settings, PAM helper); with --pam also the PAM check')
    .option('--root <dir>', 'install under this directory instead of / (an image being built)')
    .option('--endpoints <urls>', 'etcd endpoints the daemon uses (default: kiwictl\'s own)')
    .option('--node-name <name>', 'the Node name (default: the host name)')
    .option('--address <host>', 'the address users ssh to (default: the node name)')
    .option('--pam', 'also put the Kiwi account check into /etc/pam.d/sshd')
    .option('--pam-session', 'with --pam, also adopt ssh logins into the booking\'s cgroup')
    .option('--no-start', 'do not enable and start the systemd unit')
    .option('--insecure-no-auth', 'install against a non-loopback etcd whose authentication is off (anyone who reaches it can then rewrite this node\'s calendar)')
    .addHelpText('after', examples('sudo kiwictl node install --endpoints http://etcd1:2379,http://etcd2:2379 --pam', '# prepare an image', 'kiwictl node install --root /srv/image --endpoints http://etcd1:2379'))
    .action(verbAction(() => new NodeInstallOptions()));
  node
    .command('uninstall')
    .description('Stop the node daemon and remove everything node install put here, PAM lines included (the daemon\'s state is kept)')
    .option('--root <dir>', 'work under this directory instead of /')
    .option('--no-stop', 'do not stop and disable the systemd unit')
    .addHelpText('after', examples('sudo kiwictl node uninstall'))
    .action(verbAction(() => new NodeUninstallOptions()));
  for (const install of [true, false]) {
    const c = node
      .command(install ? 'install-pam' : 'uninstall-pam')
      .description(install ? 'Put the Kiwi account check into a PAM service (a backup first; idempotent; root can never be locked out)' : 'Take the Kiwi check out of a PAM service')
      .option('--root <dir>', 'work under this directory instead of /')
      .option('--service <name>', 'the PAM service (file in /etc/pam.d)', 'sshd');
    if (install)
      c.option('--session', 'also adopt ssh logins into the booking\'s cgroup')
        .option('--socket <path>', 'the daemon\'s PAM socket, if not /run/kiwi/pam.sock')
        .option('--bypass-file <path>', 'the always-allowed list, if not /var/lib/kiwi/pam-bypass')
        .option('--timeout <seconds>', 'hard limit on asking the daemon (default 2)');
    c.addHelpText('after', examples(install ? 'sudo kiwictl node install-pam' : 'sudo kiwictl node uninstall-pam'))
      .action(verbAction(() => new PamOptions(install)));
  }
  return node;
}

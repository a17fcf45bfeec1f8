// A real sshd on 127.0.0.1 for PAM end-to-end tests, with its own PAM service: sshd's PAM
// service name is its program name, so it runs through a symlink named `service` (default
// kiwitest-sshd) and reads /etc/pam.d/<service>, which the caller writes (and removes: see
// removePamService). Own host key, config and pid file in a temp dir; key authentication only.
// The test that starts it stops it, by PID.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import { stopProc } from './etcd.js';

export interface TestSshd {
  port: number;
  service: string;
  dir: string;
  proc: ChildProcess;
  /** sshd's own log (-e), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function sshdAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const p of ['/usr/sbin/sshd', '/usr/bin/ssh', '/usr/bin/ssh-keygen']) if (!existsSync(p)) return `${p} missing (apt-get install -y openssh-server openssh-client)`;
  return undefined;
}

export async function startSshd(opts: { service?: string } = {}): Promise<TestSshd> {
  const service = opts.service ?? 'kiwitest-sshd';
  if (!service.startsWith('kiwitest')) throw new Error(`test sshd services must be named kiwitest*, not ${service}`);
  const dir = mkdtempSync(join(tmpdir(), 'kiwitest-sshd-'));
  const port = await freePort();
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')]);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM yes',
      'PubkeyAuthentication yes',
      'AuthenticationMethods publickey',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      'AuthorizedKeysFile .ssh/authorized_keys',
      'UseDNS no',
      'PrintMotd no',
      'PrintLastLog no',
      'LogLevel VERBOSE',
      'MaxStartups 50',
      '',
    ].join('\n'),
  );
  const link = join(dir, service);
  symlinkSync('/usr/sbin/sshd', link);
  let log = '';
  const proc = spawn(link, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (d) => (log += d));
  proc.on('error', (e) => (log += String(e)));
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`sshd exited: ${log}`);
      return new Promise<boolean>((res) => {
        const c = connect(port, '127.0.0.1');
        c.once('connect', () => (c.destroy(), res(true)));
        c.once('error', () => res(false));
      });
    },
    { timeoutMs: 10_000, what: `sshd on 127.0.0.1:${port}` },
  );
  return {
    port,
    service,
    dir,
    proc,
    log: () => log,
    async stop() {
      await stopProc(proc, 'SIGTERM', 3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client key pair in `dir` (key, key.pub). */
export function clientKey(dir: string): { key: string; pub: string } {
  const key = join(dir, 'client_ed25519');
  if (!existsSync(key)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kiwitest', '-f', key]);
  return { key, pub: readFileSync(key + '.pub', 'utf8') };
}

/** Authorizes `pub` for a kiwitest user (home from passwd, .ssh 0700, authorized_keys 0600). */
export function authorize(user: { name: string; uid: number }, pub: string): void {
  if (!user.name.startsWith('kiwitest')) throw new Error(`refusing to touch ${user.name}`);
  const home = execFileSync('getent', ['passwd', user.name], { encoding: 'utf8' }).split(':')[5];
  const gid = Number(execFileSync('id', ['-g', user.name], { encoding: 'utf8' }).trim());
  const ssh = join(home, '.ssh');
  mkdirSync(ssh, { recursive: true, mode: 0o700 });
  chownSync(ssh, user.uid, gid);
  writeFileSync(join(ssh, 'authorized_keys'), pub, { mode: 0o600 });
  chownSync(join(ssh, 'authorized_keys'), user.uid, gid);
}

/** `ssh user@127.0.0.1 -p port command` with key auth only, no config, no known_hosts. */
export function ssh(port: number, key: string, user: string, command = 'true'): Promise<SshResult> {
  const t0 = Date.now();
  const args = [
    '-F', '/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'PasswordAuthentication=no',
    '-o', 'ConnectTimeout=10',
    '-i', key,
    '-p', String(port),
    `${user}@127.0.0.1`,
    command,
  ];
  return new Promise((res) => {
    execFile('ssh', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as any).code ?? null) : 0;
      res({ code: typeof code === 'number' ? code : null, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** `pamtester -v SERVICE USER acct_mgmt`: exit 0 when the account stack allows. */
export function pamtester(service: string, user: string): Promise<SshResult> {
  const t0 = Date.now();
  return new Promise((res) => {
    execFile('pamtester', ['-v', service, user, 'acct_mgmt'], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as any).code ?? null) : 0;
      res({ code: typeof code === 'number' ? code : null, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Writes /etc/pam.d/<service> (kiwitest* names only). */
export function writePamService(service: string, text: string): string {
  if (!service.startsWith('kiwitest')) throw new Error(`test PAM services must be named kiwitest*, not ${service}`);
  const p = join('/etc/pam.d', service);
  writeFileSync(p, text, { mode: 0o644 });
  return p;
}

/** Removes /etc/pam.d/<service> and the installer's backup of it. */
export function removePamService(service: string): void {
  if (!service.startsWith('kiwitest')) throw new Error(`refusing to remove /etc/pam.d/${service}`);
  for (const f of [service, `${service}.kiwi-backup`]) rmSync(join('/etc/pam.d', f), { force: true });
}

/** A plain PAM stack, for tests about something other than Kiwi's PAM gate (test/e2e/pam). */
export const PLAIN_PAM = `# Kiwi test service (removed by the test)
@include common-auth
account    required     pam_nologin.so
@include common-account
@include common-session
`;

export interface SshLogin {
  user: { name: string; uid: number };
  sshd: TestSshd;
  /** the client's private key file */
  key: string;
  dir: string;
  /** Stops sshd, removes the PAM service and the key dir; the caller deletes the user. */
  stop(): Promise<void>;
}

/** A fresh test sshd with the plain PAM stack `service`, and a key that `user` logs in with. */
export async function sshLogin(user: { name: string; uid: number }, service: string): Promise<SshLogin> {
  const dir = mkdtempSync(join(tmpdir(), 'kiwitest-ssh-login-'));
  const k = clientKey(dir);
  authorize(user, k.pub);
  writePamService(service, PLAIN_PAM);
  const sshd = await startSshd({ service });
  return {
    user, sshd, key: k.key, dir,
    async stop() {
      await sshd.stop();
      removePamService(service);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

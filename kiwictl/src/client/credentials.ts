// Who kiwictl is to etcd, and how it reaches it securely: etcd user and password, and TLS files.
// The first of:
//   --etcd-user with --etcd-password-file/$KIWI_ETCD_PASSWORD_FILE or $KIWI_ETCD_PASSWORD
//   (--etcd-password on the command line works, with a warning: every local user can read a
//   command line, in ps or /proc/PID/cmdline), else $KIWI_ETCD_USER likewise
//   --credentials FILE, else $KIWI_CREDENTIALS
//   ~/.config/kiwi/credentials.yaml ($XDG_CONFIG_HOME/kiwi/credentials.yaml)
//   <dir>/<unix user>.yaml, dir = $KIWI_CREDENTIALS_DIR or /etc/kiwi/credentials (what
//   `kiwictl admin add-user` writes: mode 0600, owned by that user)
// else none (etcd without auth). TLS: --etcd-ca/--etcd-cert/--etcd-key, else $KIWI_ETCD_CA,
// $KIWI_ETCD_CERT, $KIWI_ETCD_KEY, else `ca:`/`cert:`/`key:` in the credential file.
// A credential file is YAML (or JSON): {user, password, ca?, cert?, key?}.
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ForbiddenError, InvalidError } from '../../../crds/api/errors.js';

export const DEFAULT_CREDENTIALS_DIR = '/etc/kiwi/credentials';

export interface CredentialFlags {
  etcdUser?: string;
  etcdPassword?: string;
  etcdPasswordFile?: string;
  credentials?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

export interface ResolvedCredentials {
  auth?: { username: string; password: string };
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /** Where the user and password came from, for messages. */
  source?: string;
  /** Said once on stderr by the client (e.g. a password on the command line). */
  warnings: string[];
}

export interface CredentialFile {
  user: string;
  password: string;
  ca?: string;
  cert?: string;
  key?: string;
}

export function credentialsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KIWI_CREDENTIALS_DIR || DEFAULT_CREDENTIALS_DIR;
}

/** The file `admin add-user NAME` writes and kiwictl run by NAME picks up. */
export function credentialFileOf(user: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(credentialsDir(env), `${user}.yaml`);
}

/** Parses a credential file: YAML/JSON {user, password}, or (for daemons) a bare password. */
export function parseCredentialText(text: string, file: string): Partial<CredentialFile> {
  const t = text.trim();
  if (!/^[{]|^\w+\s*:/m.test(t)) return { password: t };
  const out: Record<string, string> = {};
  // A tiny "key: value" reader: keeps js-yaml (and its load time) out of every command.
  if (t.startsWith('{')) {
    try {
      Object.assign(out, JSON.parse(t));
    } catch {
      throw new InvalidError(`credential file ${file} is not valid JSON`);
    }
  } else {
    for (const line of t.split('\n')) {
      const m = /^\s*(\w+)\s*:\s*(.*?)\s*$/.exec(line);
      if (!m || line.trim().startsWith('#')) continue;
      let v = m[2];
      if (/^(["']).*\1$/.test(v)) v = v.startsWith('"') ? JSON.parse(v) : v.slice(1, -1);
      out[m[1]] = v;
    }
  }
  for (const k of Object.keys(out)) if (typeof out[k] !== 'string') throw new InvalidError(`credential file ${file}: ${k} must be a string`);
  return out as Partial<CredentialFile>;
}

export function readCredentialFile(file: string): Partial<CredentialFile> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    if (e?.code === 'EACCES') throw new ForbiddenError(`cannot read credential file ${file}: permission denied (it belongs to another user)`);
    throw new InvalidError(`cannot read credential file ${file}: ${e?.code ?? e}`);
  }
  return parseCredentialText(text, file);
}

function safeUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** A password file: the bare password, or a credential file's `password:`. */
function passwordFrom(file: string, what: string): string {
  if (!existsSync(file)) throw new InvalidError(`${what} ${file}: no such file`);
  const c = readCredentialFile(file);
  if (c.password === undefined) throw new InvalidError(`${what} ${file} holds no password`);
  return c.password;
}

export function resolveCredentials(flags: CredentialFlags, env: NodeJS.ProcessEnv = process.env): ResolvedCredentials {
  let file: Partial<CredentialFile> = {};
  let fileName: string | undefined;
  const explicit = flags.credentials ?? env.KIWI_CREDENTIALS;
  if (explicit) {
    if (!existsSync(explicit)) throw new InvalidError(`credential file ${explicit} does not exist (given by ${flags.credentials ? '--credentials' : 'KIWI_CREDENTIALS'})`);
    fileName = explicit;
  } else {
    const home = join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'kiwi', 'credentials.yaml');
    const me = safeUser();
    const system = me ? credentialFileOf(me, env) : undefined;
    if (existsSync(home)) fileName = home;
    else if (system && existsSync(system)) fileName = system;
  }
  const userFlag = flags.etcdUser ?? env.KIWI_ETCD_USER;
  const warnings: string[] = [];
  if (flags.etcdPassword !== undefined) warnings.push('--etcd-password on a command line can be read by every local user (ps, /proc/PID/cmdline); use --etcd-password-file FILE, KIWI_ETCD_PASSWORD or a credential file (--credentials)');
  const pwFile = flags.etcdPasswordFile ?? env.KIWI_ETCD_PASSWORD_FILE;
  const pwFlag = flags.etcdPassword ?? (pwFile ? passwordFrom(pwFile, flags.etcdPasswordFile ? '--etcd-password-file' : 'KIWI_ETCD_PASSWORD_FILE') : env.KIWI_ETCD_PASSWORD);
  // An explicit user with a password beats any file; a file is read only when it is needed.
  if (fileName && !(userFlag && pwFlag !== undefined)) file = readCredentialFile(fileName);
  const out: ResolvedCredentials = { warnings };
  if (userFlag && pwFlag !== undefined) {
    out.auth = { username: userFlag, password: pwFlag };
    out.source = flags.etcdUser ? '--etcd-user' : 'KIWI_ETCD_USER';
  } else if (file.user || userFlag) {
    const username = userFlag ?? file.user!;
    const password = pwFlag ?? file.password;
    if (password === undefined) throw new InvalidError(`etcd user ${username} has no password: set --etcd-password or KIWI_ETCD_PASSWORD, or a credential file`);
    out.auth = { username, password };
    out.source = fileName ?? 'KIWI_ETCD_USER';
  } else if (pwFlag !== undefined) {
    throw new InvalidError('an etcd password was given without a user: set --etcd-user or KIWI_ETCD_USER');
  }
  const ca = flags.etcdCa ?? env.KIWI_ETCD_CA ?? file.ca;
  const cert = flags.etcdCert ?? env.KIWI_ETCD_CERT ?? file.cert;
  const key = flags.etcdKey ?? env.KIWI_ETCD_KEY ?? file.key;
  if ((cert && !key) || (key && !cert)) throw new InvalidError('a client certificate needs both --etcd-cert and --etcd-key (or KIWI_ETCD_CERT and KIWI_ETCD_KEY)');
  if (ca || cert) {
    if (!ca) throw new InvalidError('TLS needs the CA that signed etcd\'s certificate: set --etcd-ca or KIWI_ETCD_CA');
    for (const [what, f] of [['--etcd-ca', ca], ['--etcd-cert', cert], ['--etcd-key', key]] as const)
      if (f && !existsSync(f)) throw new InvalidError(`${what} ${f}: no such file`);
    out.tls = { caFile: ca, ...(cert ? { certFile: cert, keyFile: key } : {}) };
  }
  return out;
}

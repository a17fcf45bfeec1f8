// Installing Kiwi's PAM module into a service's PAM stack, and removing it again: the logic
// behind `kiwictl node install-pam` / `kiwictl node uninstall-pam`. Every function takes the
// root directory to work under ("/" on a node, a temporary folder in tests).
//
// The module, pam_kiwi.so, is built on the node from node-daemon/pam/pam_kiwi.c by
// installHelper() (gcc and libpam0g-dev): a PAM module runs inside the PAM-using program and
// execs nothing, so no environment a user controls (pam_env user_readenv=1 reads
// ~/.pam_environment, LD_PRELOAD included) reaches anything Kiwi runs as root, which a pam_exec
// helper could not promise.
//
// What install does to ROOT/etc/pam.d/SERVICE (sshd by default):
//   - refuses unless the module exists there as a root-owned regular file that nobody else may
//     write (a PAM line naming a missing module would make every login fail, root's included);
//   - inserts this block before the first line of the account stack (an `account` line or
//     `@include common-account`), or replaces an older Kiwi block in place:
//
//       # BEGIN kiwi (kiwictl node install-pam; remove with kiwictl node uninstall-pam)
//       account [success=1 default=ignore] pam_succeed_if.so quiet uid eq 0
//       account required /usr/lib/kiwi/pam_kiwi.so
//       # END kiwi
//
//     The first line lets uid 0 skip the Kiwi check (and only that line: the rest of the
//     account stack still runs), so that not even a broken module can lock root out.
//   - with `session: true`, also appends, at the very end of the file (last in the session
//     stack, after pam_systemd, which would otherwise move the login into its own scope):
//
//       # BEGIN kiwi-session (kiwictl node install-pam; remove with kiwictl node uninstall-pam)
//       session optional /usr/lib/kiwi/pam_kiwi.so
//       # END kiwi-session
//
//     which moves each login of the booked user into the booking's cgroup (pam_slurm_adopt's
//     adopt), so that the booking's cleanup ends everything started over SSH. Without
//     `session`, an existing session block is taken out (install states the whole Kiwi setup).
//   - copies the file as it was to SERVICE.kiwi-backup before changing it, writes the new one
//     atomically (temporary file, fsync, rename) with the old mode and owner;
//   - does nothing when the block is already there as it would write it (idempotent).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../../crds/api/atomic-file.js';
import { fileURLToPath } from 'node:url';

export const BEGIN = '# BEGIN kiwi (kiwictl node install-pam; remove with kiwictl node uninstall-pam)';
export const END = '# END kiwi';
export const SESSION_BEGIN = '# BEGIN kiwi-session (kiwictl node install-pam; remove with kiwictl node uninstall-pam)';
export const SESSION_END = '# END kiwi-session';
const ACCOUNT_MARKS = { begin: '# BEGIN kiwi (', end: END };
const SESSION_MARKS = { begin: '# BEGIN kiwi-session (', end: SESSION_END };
/** Where the PAM module goes (the PAM lines name it by this absolute path). */
export const DEFAULT_HELPER_PATH = '/usr/lib/kiwi/pam_kiwi.so';
export const MODULE_SOURCE = 'pam_kiwi.c';
const SERVICE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const ARG_RE = /^--(socket|bypass-file)=\/[A-Za-z0-9/._-]+$|^--timeout=\d+(\.\d+)?$/;

export interface PamInstallOptions {
  /** The file system root to work under: "/" on a node. */
  root: string;
  /** The PAM service, i.e. the file name under etc/pam.d. Default sshd. */
  service?: string;
  /** Where the module is, as seen from the node (inside root). Default /usr/lib/kiwi/pam_kiwi.so. */
  helperPath?: string;
  /** Module arguments: --socket=PATH, --bypass-file=PATH, --timeout=SECONDS. */
  helperArgs?: string[];
  /** Also add the session hook (adopt logins into the booking's cgroup). Default false. */
  session?: boolean;
}

export interface PamInstallResult {
  file: string;
  changed: boolean;
  backup?: string;
  warnings: string[];
}

/** The lines to put into a PAM file by hand (the documented manual install). */
export function pamBlock(helperPath = DEFAULT_HELPER_PATH, helperArgs: string[] = []): string[] {
  checkHelperPathAndArgs(helperPath, helperArgs);
  return [
    BEGIN,
    'account [success=1 default=ignore] pam_succeed_if.so quiet uid eq 0',
    ['account required', helperPath, ...helperArgs].join(' '),
    END,
  ];
}

/** The session hook's lines (appended last in the file by installPam with `session: true`). */
export function sessionBlock(helperPath = DEFAULT_HELPER_PATH, helperArgs: string[] = []): string[] {
  checkHelperPathAndArgs(helperPath, helperArgs);
  return [SESSION_BEGIN, ['session optional', helperPath, ...helperArgs].join(' '), SESSION_END];
}

export function installPam(opts: PamInstallOptions): PamInstallResult {
  const helperPath = opts.helperPath ?? DEFAULT_HELPER_PATH;
  const block = pamBlock(helperPath, opts.helperArgs ?? []);
  const sBlock = opts.session ? sessionBlock(helperPath, opts.helperArgs ?? []) : [];
  const file = serviceFile(opts);
  checkHelper(join(opts.root, helperPath));
  const text = readPamFile(file);
  const lines = splitLines(text);
  let next: string[];
  const found = findBlock(lines, file, ACCOUNT_MARKS);
  if (found) {
    next = [...lines.slice(0, found.begin), ...block, ...lines.slice(found.end + 1)];
  } else {
    const at = lines.findIndex((l) => /^\s*-?account\s/.test(l) || /^\s*@include\s+common-account\s*$/.test(l));
    if (at < 0) {
      throw new Error(`${file} has no account stack (no "account" line and no "@include common-account"); add these lines by hand where its account modules go:\n${block.join('\n')}`);
    }
    next = [...lines.slice(0, at), ...block, ...lines.slice(at)];
  }
  const s = findBlock(next, file, SESSION_MARKS);
  if (s) next = [...next.slice(0, s.begin), ...next.slice(s.end + 1)];
  next = [...next, ...sBlock];
  return writeIfChanged(file, text, next, warningsFor(opts, []));
}

export function uninstallPam(opts: Pick<PamInstallOptions, 'root' | 'service'>): PamInstallResult {
  const file = serviceFile(opts);
  const text = readPamFile(file);
  let next = splitLines(text);
  for (const marks of [ACCOUNT_MARKS, SESSION_MARKS]) {
    const found = findBlock(next, file, marks);
    if (found) next = [...next.slice(0, found.begin), ...next.slice(found.end + 1)];
  }
  return writeIfChanged(file, text, next, []);
}

function writeIfChanged(file: string, text: string, next: string[], warnings: string[]): PamInstallResult {
  const out = joinLines(next, text);
  if (out === text) return { file, changed: false, warnings };
  const backup = file + '.kiwi-backup';
  copyFileSync(file, backup);
  writeAtomically(file, out);
  return { file, changed: true, backup, warnings };
}

/** The compiler command that builds the module (hardened: stack protector, fortify, full RELRO). */
export const CC_ARGS = ['-O2', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2', '-Wl,-z,relro,-z,now'];

/**
 * Builds pam_kiwi.so from its C source (default: the one shipped beside this program) and puts
 * it at ROOT/DEST (default /usr/lib/kiwi/pam_kiwi.so), 0644 root, atomically; unchanged when the
 * build gives the same bytes. gcc runs by absolute path with a fixed environment.
 */
export function installHelper(opts: { root: string; source?: string; dest?: string }): { path: string; changed: boolean } {
  const source = opts.source ?? defaultHelperSource();
  const dest = join(opts.root, opts.dest ?? DEFAULT_HELPER_PATH);
  const code = readFileSync(source, 'utf8');
  if (!code.includes('pam_sm_acct_mgmt')) throw new Error(`${source} is not the pam_kiwi module's source`);
  const gcc = ['/usr/bin/gcc', '/usr/bin/cc'].find((p) => existsSync(p));
  if (!gcc) throw new Error('gcc is missing: the PAM module pam_kiwi.so is built on the node; apt-get install -y gcc libpam0g-dev');
  if (!existsSync('/usr/include/security/pam_modules.h')) throw new Error('the PAM headers are missing (/usr/include/security/pam_modules.h): apt-get install -y libpam0g-dev');
  const work = mkdtempSync(join(tmpdir(), 'kiwi-pam-build-'));
  try {
    const out = join(work, 'pam_kiwi.so');
    const r = spawnSync(gcc, [...CC_ARGS, '-o', out, source, '-lpam'], { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`building ${source} failed (${gcc}): ${(r.stderr || r.error?.message || '').trim().slice(0, 2000)}`);
    const built = readFileSync(out);
    try {
      const st = statSync(dest);
      if (readFileSync(dest).equals(built) && (st.mode & 0o7777) === 0o644) return { path: dest, changed: false };
    } catch {
      /* absent */
    }
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    writeAtomically(dest, built, 0o644);
    return { path: dest, changed: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Where the module's source ships: beside the sources, or beside the bundle in dist/. */
export function defaultHelperSource(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, '../../pam', MODULE_SOURCE), // node-daemon/src/pam/ -> node-daemon/pam/
    join(here, '../node-daemon/pam', MODULE_SOURCE), // dist/
    join(here, '../../node-daemon/pam', MODULE_SOURCE), // dist/chunks/
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`${MODULE_SOURCE} not found beside this program (looked in ${candidates.join(', ')})`);
  return found;
}

function serviceFile(opts: Pick<PamInstallOptions, 'root' | 'service'>): string {
  const service = opts.service ?? 'sshd';
  if (!SERVICE_RE.test(service)) throw new Error(`invalid PAM service name ${JSON.stringify(service)}`);
  return join(opts.root, 'etc/pam.d', service);
}

function checkHelperPathAndArgs(helperPath: string, args: string[]): void {
  if (!/^\/[A-Za-z0-9/._-]+$/.test(helperPath) || helperPath.includes('..')) {
    throw new Error(`the module path must be absolute and plain (A-Za-z0-9/._-): ${JSON.stringify(helperPath)}`);
  }
  for (const a of args) {
    if (!ARG_RE.test(a) || a.includes('..')) throw new Error(`invalid module argument ${JSON.stringify(a)}; allowed: --socket=/PATH, --bypass-file=/PATH, --timeout=SECONDS`);
  }
}

function checkHelper(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`the PAM module ${path} does not exist; install it first (kiwictl node install-pam builds it; a PAM line naming a missing module would refuse every login)`);
  }
  if (!st.isFile()) throw new Error(`the PAM module ${path} is not a regular file`);
  if (st.mode & 0o022) throw new Error(`the PAM module ${path} is writable by group or others; chmod 644 it`);
  if (st.uid !== 0) throw new Error(`the PAM module ${path} is not owned by root; chown root: it`);
}

function readPamFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}; is the PAM service name right?`);
  }
}

function findBlock(lines: string[], file: string, marks: { begin: string; end: string }): { begin: number; end: number } | undefined {
  const isBegin = (l: string) => l.trim().startsWith(marks.begin) || l.trim() === marks.begin.slice(0, -2);
  const begin = lines.findIndex(isBegin);
  if (begin < 0) return undefined;
  const end = lines.findIndex((l, i) => i > begin && l.trim() === marks.end);
  const name = marks.begin.slice(0, -2);
  if (end < 0) throw new Error(`${file} has "${name}" but no "${marks.end}"; fix it by hand (restore ${file}.kiwi-backup or remove the Kiwi lines)`);
  if (lines.slice(begin + 1).some(isBegin)) throw new Error(`${file} has more than one "${name}" block; fix it by hand`);
  return { begin, end };
}

function warningsFor(opts: PamInstallOptions, warnings: string[]): string[] {
  if ((opts.service ?? 'sshd') === 'sshd') {
    const conf = join(opts.root, 'etc/ssh/sshd_config');
    try {
      const text = readFileSync(conf, 'utf8');
      const m = /^\s*UsePAM\s+(\S+)/im.exec(text);
      if (!m || m[1].toLowerCase() !== 'yes') warnings.push(`${conf} does not say "UsePAM yes": sshd skips PAM then, and the Kiwi check with it`);
    } catch {
      warnings.push(`${conf} not found: check that sshd runs with UsePAM yes`);
    }
  }
  return warnings;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function joinLines(lines: string[], original: string): string {
  return lines.join('\n') + (original.endsWith('\n') || original === '' ? '\n' : '');
}

function writeAtomically(file: string, content: string | Buffer, mode?: number): void {
  let owner: { uid: number; gid: number; mode: number } | undefined;
  try {
    const st = statSync(file);
    owner = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
  } catch {
    /* new file */
  }
  writeFileAtomic(file, content, { mode: mode ?? owner?.mode ?? 0o644, ...(owner ? { owner } : {}) });
}

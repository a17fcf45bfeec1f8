// The one way Kiwi replaces a file: readers (PAM, sshd, the daemon after a crash, a parallel
// kiwictl) see the whole old file or the whole new one, never a torn one. A fresh temporary
// file beside the target (O_EXCL: nothing pre-made by someone else is followed or reused), its
// mode and owner set on the descriptor before any byte is written, fsync, rename, then fsync of
// the directory so the rename survives a power cut.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AtomicWrite {
  /** The file's mode (umask does not narrow it). */
  mode: number;
  /** Owner to give the file (root only); default: the writer. */
  owner?: { uid: number; gid: number };
  /** Mode of directories created on the way; default 0755. */
  dirMode?: number;
}

export function writeFileAtomic(path: string, content: string | Uint8Array, opts: AtomicWrite): void {
  mkdirSync(dirname(path), { recursive: true, mode: opts.dirMode ?? 0o755 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.kiwi-tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    fchmodSync(fd, opts.mode);
    if (opts.owner) fchownSync(fd, opts.owner.uid, opts.owner.gid);
    writeFileSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* some file systems refuse fsync on a directory; the rename is still atomic */
  }
}

// kiwictl admin backup FILE: a snapshot of Kiwi's whole state (the etcd database) through etcd's
// Maintenance Snapshot API, the same file `etcdctl snapshot save` writes (the database followed by
// its SHA-256, which etcd appends and this checks). Restore: docs/operations.md.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { ForbiddenError, InvalidError } from '../../../../crds/api/errors.js';
import { usage, type Ctx, type Options } from '../verb.js';
import { fileReader, snapshotRevision } from './snapshot-file.js';

export interface SnapshotResult {
  bytes: number;
  revision: number;
  /** SHA-256 of the database (what etcd appends and `etcdctl snapshot restore` checks). */
  sha256: string;
}

export class BackupOptions implements Options {
  file = '';
  force = false;

  complete(args: string[], flags: { force?: boolean }): void {
    if (args.length !== 1) throw usage('backup takes one FILE, e.g. kiwictl admin backup /var/backups/kiwi-$(date +%F).db');
    this.file = args[0];
    this.force = Boolean(flags.force);
  }

  validate(): void {
    if (existsSync(this.file) && !this.force) throw new InvalidError(`${this.file} exists: name a new file, or add --force to replace it`);
  }

  async run(ctx: Ctx): Promise<void> {
    const store = await ctx.client.store();
    const tmp = `${this.file}.${process.pid}.partial`;
    const fd = openSync(tmp, 'wx+', 0o600);
    let done = false;
    try {
      const r = await snapshot(store.etcd, (chunk) => writeSync(fd, chunk)).catch((e) => {
        const m = String((e as Error)?.message ?? e);
        if (/permission denied|not authorized|root/i.test(m)) throw new ForbiddenError(`backup needs etcd's root user (root's credential file, written by enable-auth): ${m}`);
        throw store.translate(e, 'backup');
      });
      fsyncSync(fd);
      // etcd 3.4 sends no revision with the snapshot: read it from the file, as etcdctl does
      if (!r.revision) r.revision = snapshotRevision(fileReader(fd));
      closeSync(fd);
      renameSync(tmp, this.file); // a backup file is whole or absent
      done = true;
      ctx.out(`snapshot of etcd at revision ${r.revision} written to ${this.file} (${r.bytes} bytes, sha256 ${r.sha256})\n`);
      ctx.out(`restore it into a new etcd: etcdctl snapshot restore ${this.file} --data-dir DIR (docs/operations.md)\n`);
    } finally {
      if (!done) {
        try {
          closeSync(fd);
        } catch {
          /* closed already */
        }
        rmSync(tmp, { force: true });
      }
    }
  }
}

/** Streams a snapshot to `write`; resolves with its size (the hash included), revision and hash. */
async function snapshot(etcd: import('etcd3').Etcd3, write: (b: Buffer) => void): Promise<SnapshotResult> {
  const stream = await etcd.maintenance.snapshot();
  const hash = createHash('sha256');
  let held = Buffer.alloc(0); // the last 32 bytes seen: the trailer, once the stream ends
  let bytes = 0;
  let revision: number | undefined;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (m: { header?: { revision?: string }; blob: Buffer }) => {
      if (revision === undefined && m.header?.revision) revision = Number(m.header.revision);
      const b = Buffer.concat([held, m.blob]);
      const keep = Math.min(32, b.length);
      hash.update(b.subarray(0, b.length - keep));
      held = Buffer.from(b.subarray(b.length - keep));
      write(m.blob);
      bytes += m.blob.length;
    });
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const sum = hash.digest();
  if (held.length !== 32 || !sum.equals(held)) throw new Error('the snapshot etcd sent does not end with the SHA-256 of its database: it is incomplete or corrupt');
  return { bytes, revision: revision ?? 0, sha256: sum.toString('hex') };
}

// Reads the revision of an etcd snapshot file (a bbolt database with etcd's SHA-256 appended):
// etcd 3.4 sends no header with the snapshot stream, so the revision comes from the file itself,
// as `etcdctl snapshot status` reads it: the largest key of the "key" bucket, whose keys are
// revisions (8 bytes main, "_", 8 bytes sub, big-endian). It reads only the pages it walks (a
// snapshot can be gigabytes), through `read(offset, length)`.
// bbolt's layout (go.etcd.io/bbolt page.go, bucket.go): 16-byte page headers; two meta pages;
// branch and leaf pages of 16-byte element headers; a bucket's value is {root pgid, sequence},
// with root 0 meaning an inline bucket whose page follows in the value.

import { readSync } from 'node:fs';

const BRANCH = 0x01;
const LEAF = 0x02;
const META = 0x04;
const BUCKET_LEAF_FLAG = 0x01;
const MAGIC = 0xed0cdaed;

export type Reader = (offset: number, length: number) => Buffer;
interface Page { buf: Buffer; off: number }
interface Db { read: Reader; pageSize: number }

/** A page with its overflow pages, read whole. */
function pageAt(db: Db, pgid: bigint): Page {
  const off = Number(pgid) * db.pageSize;
  const head = db.read(off, 16);
  if (head.length < 16) throw new Error(`snapshot: page ${pgid} is past the end of the file`);
  const buf = db.read(off, (head.readUInt32LE(12) + 1) * db.pageSize);
  return { buf, off: 0 };
}

const flagsOf = (p: Page) => p.buf.readUInt16LE(p.off + 8);
const countOf = (p: Page) => p.buf.readUInt16LE(p.off + 10);

/** The leaf element i of page p: its flags, key and value. */
function leafElem(p: Page, i: number): { flags: number; key: Buffer; value: Buffer } {
  const e = p.off + 16 + i * 16;
  const flags = p.buf.readUInt32LE(e);
  const pos = p.buf.readUInt32LE(e + 4);
  const ksize = p.buf.readUInt32LE(e + 8);
  const vsize = p.buf.readUInt32LE(e + 12);
  const k = e + pos;
  return { flags, key: p.buf.subarray(k, k + ksize), value: p.buf.subarray(k + ksize, k + ksize + vsize) };
}

function branchElem(p: Page, i: number): { key: Buffer; pgid: bigint } {
  const e = p.off + 16 + i * 16;
  const pos = p.buf.readUInt32LE(e);
  const ksize = p.buf.readUInt32LE(e + 4);
  return { key: p.buf.subarray(e + pos, e + pos + ksize), pgid: p.buf.readBigUInt64LE(e + 8) };
}

/** Every leaf of the tree under `p`, in key order. */
function* leaves(db: Db, p: Page): Generator<Page> {
  const f = flagsOf(p);
  if (f & LEAF) yield p;
  else if (f & BRANCH) for (let i = 0; i < countOf(p); i++) yield* leaves(db, pageAt(db, branchElem(p, i).pgid));
  else throw new Error(`snapshot: page at ${p.off} is neither a branch nor a leaf`);
}

/** The root page of a bucket from its value in the parent leaf ({root, sequence}, inline if root is 0). */
function bucketRoot(db: Db, value: Buffer): Page {
  const root = value.readBigUInt64LE(0);
  return root === 0n ? { buf: value, off: 16 } : pageAt(db, root);
}

/** The revision a snapshot was taken at; 0 for an empty store. Throws if it is not a snapshot. */
export function snapshotRevision(read: Reader): number {
  const metas = [0, 1].map((i) => {
    const off = i === 0 ? 0 : read(24, 4).readUInt32LE(0); // page 1 sits one page size in
    const m = read(off, 80);
    if (m.length < 80 || !(m.readUInt16LE(8) & META) || m.readUInt32LE(16) !== MAGIC) return undefined;
    return { pageSize: m.readUInt32LE(24), root: m.readBigUInt64LE(32), txid: m.readBigUInt64LE(64) };
  });
  const meta = metas.filter((m) => m !== undefined).sort((a, b) => (a!.txid > b!.txid ? -1 : 1))[0];
  if (!meta) throw new Error('not an etcd snapshot (no bbolt meta page)');
  const db: Db = { read, pageSize: meta.pageSize };
  for (const leaf of leaves(db, pageAt(db, meta.root))) {
    for (let i = 0; i < countOf(leaf); i++) {
      const e = leafElem(leaf, i);
      if (!(e.flags & BUCKET_LEAF_FLAG) || e.key.toString() !== 'key') continue;
      let last: Buffer | undefined;
      for (const l of leaves(db, bucketRoot(db, e.value))) if (countOf(l) > 0) last = leafElem(l, countOf(l) - 1).key;
      return last ? Number(last.readBigUInt64BE(0)) : 0;
    }
  }
  throw new Error('not an etcd snapshot (no "key" bucket)');
}

/** A Reader over an open file. */
export function fileReader(fd: number): Reader {
  return (offset, length) => {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    return b.subarray(0, n);
  };
}

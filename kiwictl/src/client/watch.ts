// Watching one object over wire.ts instead of etcd3's watch and the Informer: read its spec and
// status keys in one transaction, then watch just those two keys (one Watch stream, two watches)
// from the next revision. What `alloc --wait` and `kiwictl wait` need, without loading etcd3,
// gRPC and protobufjs (~85 ms), and without listing every booking of the namespace.
import { keys, refString, type ObjectRef } from '../../../crds/api/keys.js';
import type { KindName, ObjectOfKind } from '../../../crds/api/types.js';
import { decodeObject, unreadableError } from '../../../crds/api/decode.js';
import type { EtcdReader } from './reader.js';
import { encodeWatchCreate, openWatch, type WatchHandle, type WatchResponse, type WireError, type WireKv } from './wire.js';

/** Back-off before resuming a broken watch. */
const RESUME_MS = 500;

export interface ObjectWatchHooks<K extends KindName> {
  /** The object now (undefined: deleted or absent): after the first read, then after each change. */
  onObject(obj: ObjectOfKind<K> | undefined): void;
  /** The stored object cannot be decoded: the watch stops. */
  onInvalid(err: Error): void;
  /** The watch broke; it resumes by itself (a re-read, then a new watch). */
  onError(err: Error): void;
}

export class ObjectWatch<K extends KindName> {
  private spec?: WireKv;
  private status?: WireKv;
  private handle?: WatchHandle;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private attempt = 0;
  private readonly specKey: string;
  private readonly statusKey: string;

  constructor(
    private readonly reader: EtcdReader,
    private readonly ref: ObjectRef & { kind: K },
    private readonly hooks: ObjectWatchHooks<K>,
  ) {
    this.specKey = keys.spec(ref);
    this.statusKey = keys.status(ref);
  }

  /** Reads the object, reports it, and watches it; rejects when the first read fails. */
  async start(): Promise<void> {
    const r = await this.reader.rangesAt(`watch ${this.ref.kind} ${refString(this.ref)}`, [{ key: this.specKey }, { key: this.statusKey }]);
    if (this.stopped) return;
    this.spec = r.ranges[0][0];
    this.status = r.ranges[1][0];
    this.emit();
    if (this.stopped) return;
    const endpoints = this.reader.endpoints;
    const ep = endpoints[this.attempt % endpoints.length];
    const from = r.revision + 1;
    this.handle = await openWatch(
      ep,
      [encodeWatchCreate({ key: Buffer.from(this.specKey), startRevision: from }), encodeWatchCreate({ key: Buffer.from(this.statusKey), startRevision: from })],
      this.reader.sessions,
      this.reader.timeoutMs,
      (resp) => this.onResponse(resp),
      (err) => this.resume(err),
    );
    if (this.stopped) this.handle.close();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.handle?.close();
  }

  private onResponse(resp: WatchResponse): void {
    if (resp.canceled) {
      // compacted past our revision, or refused (permission): re-read and watch again
      this.handle?.close();
      return this.resume({ message: resp.cancelReason || `watch canceled (compacted at ${resp.compactRevision})` } as WireError);
    }
    if (!resp.events.length) return;
    for (const ev of resp.events) {
      const kv = ev.type === 'DELETE' ? undefined : ev.kv;
      if (ev.kv.key === this.specKey) this.spec = kv;
      else if (ev.kv.key === this.statusKey) this.status = kv;
    }
    this.emit();
  }

  private emit(): void {
    if (!this.spec) return this.hooks.onObject(undefined);
    const d = decodeObject(this.ref.kind, this.spec, this.status);
    if (!d.ok) {
      this.stop();
      return this.hooks.onInvalid(unreadableError(this.ref, d));
    }
    this.hooks.onObject(d.object);
  }

  private resume(err: { message: string }): void {
    if (this.stopped) return;
    this.handle = undefined;
    this.hooks.onError(new Error(err.message));
    this.attempt++;
    // ref'd: a wait without --timeout must not exit while the watch is down
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.start().catch((e: Error) => this.resume(e));
    }, RESUME_MS);
  }
}

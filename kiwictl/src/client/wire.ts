// A minimal gRPC client for etcd's one read call kiwictl needs: KV/Txn holding only range
// requests (several ranges read at one revision), and, for an etcd with auth on, Auth/Authenticate
// first (its token goes with the read as the `token` metadata, as etcd's own clients send it;
// kept for the next commands by token-cache.ts).
// Plain node:http2, over TLS (CA, client certificate) when configured, and a hand-written
// protobuf codec for these few messages (field numbers from etcd's rpc.proto and kv.proto).
//
// Why not etcd3: loading etcd3, @grpc/grpc-js and protobufjs costs ~90 ms, more than the rest of a
// `kiwictl get`, and protobufjs decodes 10,000 keys several times slower than this does. Why not
// etcd's JSON gateway: its server-side JSON marshalling is slower than the gRPC answer.
// Writes go through the Store over wire-etcd.ts; a watch of one object (watch.ts) through
// openWatch below (etcd's Watch/Watch bidi stream).
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { TokenCache } from './token-cache.js';

/** Keys and values decoded to strings straight from the answer (no Buffer per field: 10,000 keys). */
export interface WireKv {
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
  /** The key's version: the generation of the object it holds. */
  version: number;
}
export interface TxnRangesResult {
  revision: number;
  ranges: WireKv[][];
}

/** A gRPC failure: `code` is the gRPC status (14 unavailable, 4 deadline, 7 permission denied...). */
export class WireError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

// ---- protobuf encoding: only length-delimited fields are ever sent ----

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function bytesField(field: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(data.length)]), data]);
}

/** TxnRequest{success: [RequestOp{request_range: RangeRequest{key, range_end}}...]} */
export function encodeTxnRanges(ranges: { key: Buffer; rangeEnd?: Buffer }[]): Buffer {
  return Buffer.concat(
    ranges.map((r) => {
      const range = Buffer.concat([bytesField(1, r.key), ...(r.rangeEnd ? [bytesField(2, r.rangeEnd)] : [])]);
      return bytesField(2, bytesField(1, range));
    }),
  );
}

/** AuthenticateRequest{name, password} */
export function encodeAuthenticate(name: string, password: string): Buffer {
  return Buffer.concat([bytesField(1, Buffer.from(name)), bytesField(2, Buffer.from(password))]);
}

function varintField(field: number, n: number | bigint | string): Buffer {
  // int64 in two's complement; revisions and lease ids are never negative here
  let v = BigInt(n);
  const out: number[] = [field << 3];
  while (v > 127n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** etcd3's request shapes, as crds/api/store.ts builds them (keys and values as Buffers). */
export interface TxnCompare {
  key: Buffer;
  target: 'Version' | 'Create' | 'Mod';
  result: 'Equal' | 'Greater' | 'Less' | 'NotEqual';
  version?: number | string;
  create_revision?: number | string;
  mod_revision?: number | string;
}
export interface TxnOp {
  request_range?: { key: Buffer; range_end?: Buffer; revision?: number | string };
  request_put?: { key: Buffer; value: Buffer; lease?: number | string };
  request_delete_range?: { key: Buffer; range_end?: Buffer };
}

const COMPARE_RESULT = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 } as const;
const COMPARE_TARGET = { Version: 0, Create: 1, Mod: 2 } as const;

function encodeOp(op: TxnOp): Buffer {
  if (op.request_range) {
    const r = op.request_range;
    return bytesField(1, Buffer.concat([bytesField(1, r.key), ...(r.range_end ? [bytesField(2, r.range_end)] : []), ...(r.revision ? [varintField(4, r.revision)] : [])]));
  }
  if (op.request_put) {
    const p = op.request_put;
    return bytesField(2, Buffer.concat([bytesField(1, p.key), bytesField(2, p.value), ...(p.lease ? [varintField(3, p.lease)] : [])]));
  }
  if (op.request_delete_range) {
    const d = op.request_delete_range;
    return bytesField(3, Buffer.concat([bytesField(1, d.key), ...(d.range_end ? [bytesField(2, d.range_end)] : [])]));
  }
  throw new Error(`wire: unsupported transaction operation ${Object.keys(op).join(',')}`);
}

/** TxnRequest{compare, success, failure}: Compare{result, target, key, version | create_revision | mod_revision}. */
export function encodeTxn(req: { compare?: TxnCompare[]; success?: TxnOp[]; failure?: TxnOp[] }): Buffer {
  const compares = (req.compare ?? []).map((c) => {
    const value = c.target === 'Mod' ? [6, c.mod_revision] : c.target === 'Create' ? [5, c.create_revision] : [4, c.version];
    return bytesField(1, Buffer.concat([varintField(1, COMPARE_RESULT[c.result]), varintField(2, COMPARE_TARGET[c.target]), bytesField(3, c.key), varintField(value[0] as number, BigInt(value[1] ?? 0))]));
  });
  return Buffer.concat([...compares, ...(req.success ?? []).map((o) => bytesField(2, encodeOp(o))), ...(req.failure ?? []).map((o) => bytesField(3, encodeOp(o)))]);
}

// ---- protobuf decoding ----

class Decoder {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  more(): boolean {
    return this.pos < this.end;
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.pos++];
      n += (b & 127) * mul;
      if (b < 128) return n;
      mul *= 128;
    }
  }
  /** Reads a tag; returns [field, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    return [t >>> 3, t & 7];
  }
  /** A length-delimited field's [start, end). */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    return [start, start + len];
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.span();
    else if (wire === 5) this.pos += 4;
    else throw new WireError(`cannot decode etcd's answer (wire type ${wire})`, 13);
  }
}

function decodeHeaderRevision(d: Decoder, [s, e]: [number, number]): number {
  const h = new Decoder(d.buf, s, e);
  let rev = 0;
  while (h.more()) {
    const [f, w] = h.tag();
    if (f === 3 && w === 0) rev = h.varint();
    else h.skip(w);
  }
  return rev;
}

function decodeKv(buf: Buffer, [s, e]: [number, number]): WireKv {
  const d = new Decoder(buf, s, e);
  const kv: WireKv = { key: '', value: '', modRevision: 0, createRevision: 0, version: 0 };
  while (d.more()) {
    const t = d.varint();
    const f = t >>> 3;
    const w = t & 7;
    if (w === 2 && (f === 1 || f === 5)) {
      const len = d.varint();
      const text = buf.toString('utf8', d.pos, d.pos + len);
      d.pos += len;
      if (f === 1) kv.key = text;
      else kv.value = text;
    } else if (f === 3 && w === 0) kv.modRevision = d.varint();
    else if (f === 2 && w === 0) kv.createRevision = d.varint();
    else if (f === 4 && w === 0) kv.version = d.varint();
    else d.skip(w);
  }
  return kv;
}

function decodeRange(buf: Buffer, [s, e]: [number, number]): WireKv[] {
  const d = new Decoder(buf, s, e);
  const kvs: WireKv[] = [];
  while (d.more()) {
    const [f, w] = d.tag();
    if (f === 2 && w === 2) kvs.push(decodeKv(buf, d.span()));
    else d.skip(w);
  }
  return kvs;
}

/** TxnResponse{header, succeeded, responses: [ResponseOp{response_range}]} */
export function decodeTxnRanges(buf: Buffer): TxnRangesResult {
  const d = new Decoder(buf);
  const out: TxnRangesResult = { revision: 0, ranges: [] };
  while (d.more()) {
    const [f, w] = d.tag();
    if (f === 1 && w === 2) out.revision = decodeHeaderRevision(d, d.span());
    else if (f === 3 && w === 2) {
      const op = new Decoder(buf, ...d.span());
      let kvs: WireKv[] = [];
      while (op.more()) {
        const [of, ow] = op.tag();
        if (of === 1 && ow === 2) kvs = decodeRange(buf, op.span());
        else op.skip(ow);
      }
      out.ranges.push(kvs);
    } else d.skip(w);
  }
  return out;
}

/** A key as etcd3 hands it out (proto-loader with longs as strings): what the Store reads. */
export interface TxnKv {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  lease: string;
}
export interface TxnResult {
  header: { revision: string };
  succeeded: boolean;
  responses: { response_range?: { kvs: TxnKv[]; count: string }; response_put?: object; response_delete_range?: { deleted: string } }[];
}

function decodeTxnKv(buf: Buffer, [s, e]: [number, number]): TxnKv {
  const d = new Decoder(buf, s, e);
  const kv: TxnKv = { key: Buffer.alloc(0), value: Buffer.alloc(0), create_revision: '0', mod_revision: '0', version: '0', lease: '0' };
  while (d.more()) {
    const [f, w] = d.tag();
    if (w === 2 && (f === 1 || f === 5)) {
      const [a, b] = d.span();
      if (f === 1) kv.key = buf.subarray(a, b);
      else kv.value = buf.subarray(a, b);
    } else if (w === 0 && f >= 2 && f <= 6 && f !== 5) {
      const v = String(d.varint());
      if (f === 2) kv.create_revision = v;
      else if (f === 3) kv.mod_revision = v;
      else if (f === 4) kv.version = v;
      else kv.lease = v;
    } else d.skip(w);
  }
  return kv;
}

/** TxnResponse{header, succeeded, responses: [ResponseOp{response_range | response_put | response_delete_range}]}, in etcd3's shape. */
export function decodeTxn(buf: Buffer): TxnResult {
  const d = new Decoder(buf);
  const out: TxnResult = { header: { revision: '0' }, succeeded: false, responses: [] };
  while (d.more()) {
    const [f, w] = d.tag();
    if (f === 1 && w === 2) out.header.revision = String(decodeHeaderRevision(d, d.span()));
    else if (f === 2 && w === 0) out.succeeded = d.varint() !== 0;
    else if (f === 3 && w === 2) {
      const op = new Decoder(buf, ...d.span());
      const resp: TxnResult['responses'][number] = {};
      while (op.more()) {
        const [of, ow] = op.tag();
        if (ow !== 2) {
          op.skip(ow);
          continue;
        }
        const inner = new Decoder(buf, ...op.span());
        if (of === 1) {
          const r = { kvs: [] as TxnKv[], count: '0' };
          while (inner.more()) {
            const [rf, rw] = inner.tag();
            if (rf === 2 && rw === 2) r.kvs.push(decodeTxnKv(buf, inner.span()));
            else if (rf === 4 && rw === 0) r.count = String(inner.varint());
            else inner.skip(rw);
          }
          resp.response_range = r;
        } else if (of === 2) resp.response_put = {};
        else if (of === 3) {
          const r = { deleted: '0' };
          while (inner.more()) {
            const [rf, rw] = inner.tag();
            if (rf === 2 && rw === 0) r.deleted = String(inner.varint());
            else inner.skip(rw);
          }
          resp.response_delete_range = r;
        }
      }
      out.responses.push(resp);
    } else d.skip(w);
  }
  return out;
}

/** AuthenticateResponse{header, token} */
export function decodeAuthToken(buf: Buffer): string {
  const d = new Decoder(buf);
  while (d.more()) {
    const [f, w] = d.tag();
    if (f === 2 && w === 2) {
      const [s, e] = d.span();
      return buf.toString('utf8', s, e);
    }
    d.skip(w);
  }
  throw new WireError('etcd answered Authenticate without a token', 13);
}

// ---- the watch: WatchRequest / WatchResponse (rpc.proto) ----

/** WatchRequest{create_request: WatchCreateRequest{key, range_end, start_revision}}: one watch of a stream. */
export function encodeWatchCreate(w: { key: Buffer; rangeEnd?: Buffer; startRevision?: number }): Buffer {
  return bytesField(1, Buffer.concat([bytesField(1, w.key), ...(w.rangeEnd ? [bytesField(2, w.rangeEnd)] : []), ...(w.startRevision ? [varintField(3, w.startRevision)] : [])]));
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: WireKv;
}
export interface WatchResponse {
  revision: number;
  watchId: number;
  created: boolean;
  canceled: boolean;
  /** Set when start_revision was compacted away: the watch is canceled, re-read and watch again. */
  compactRevision: number;
  cancelReason: string;
  events: WatchEvent[];
}

/** WatchResponse{header, watch_id, created, canceled, compact_revision, cancel_reason, events: [Event{type, kv}]} */
export function decodeWatchResponse(buf: Buffer): WatchResponse {
  const d = new Decoder(buf);
  const out: WatchResponse = { revision: 0, watchId: 0, created: false, canceled: false, compactRevision: 0, cancelReason: '', events: [] };
  while (d.more()) {
    const [f, w] = d.tag();
    if (f === 1 && w === 2) out.revision = decodeHeaderRevision(d, d.span());
    else if (w === 0 && f >= 2 && f <= 5) {
      const v = d.varint();
      if (f === 2) out.watchId = v;
      else if (f === 3) out.created = v !== 0;
      else if (f === 4) out.canceled = v !== 0;
      else out.compactRevision = v;
    } else if (f === 6 && w === 2) {
      const [s, e] = d.span();
      out.cancelReason = buf.toString('utf8', s, e);
    } else if (f === 11 && w === 2) {
      const ev = new Decoder(buf, ...d.span());
      const event: WatchEvent = { type: 'PUT', kv: { key: '', value: '', modRevision: 0, createRevision: 0, version: 0 } };
      while (ev.more()) {
        const [ef, ew] = ev.tag();
        if (ef === 1 && ew === 0) event.type = ev.varint() === 1 ? 'DELETE' : 'PUT';
        else if (ef === 2 && ew === 2) event.kv = decodeKv(buf, ev.span());
        else ev.skip(ew);
      }
      out.events.push(event);
    } else d.skip(w);
  }
  return out;
}

/** Splits a gRPC byte stream into its messages (5-byte prefix: compressed flag, length). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 5) {
      if (this.buf[0] !== 0) throw new WireError('etcd sent a compressed message', 13);
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      out.push(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}

function frame(message: Buffer): Buffer {
  const f = Buffer.alloc(5 + message.length);
  f.writeUInt32BE(message.length, 1);
  message.copy(f, 5);
  return f;
}

export interface WatchHandle {
  close(): void;
}

/**
 * Opens etcd's Watch/Watch stream on `endpoint` and sends one WatchCreateRequest per entry of
 * `creates` (several keys on one stream). `onResponse` gets every WatchResponse; `onEnd` once,
 * when the stream breaks or etcd ends it (never after close()). With a user, the stream carries
 * its token, as unary calls do. The session is ref'd while the stream is open: a watch keeps
 * the process alive.
 */
export async function openWatch(
  endpoint: string,
  creates: Buffer[],
  shared: Sessions,
  timeoutMs: number,
  onResponse: (r: WatchResponse) => void,
  onEnd: (err: WireError) => void,
): Promise<WatchHandle> {
  const meta: Record<string, string> = shared.security.auth ? { token: await shared.token(endpoint, timeoutMs) } : {};
  const session = shared.get(endpoint);
  session.ref();
  let closed = false;
  const end = (err: WireError) => {
    if (closed) return;
    closed = true;
    session.off('error', onSessionError);
    session.unref();
    if (err.code === 16) shared.forgetToken(endpoint); // a token etcd no longer knows: log in again on resume
    if (err.code === 14) shared.drop(endpoint);
    else req.close(constants.NGHTTP2_CANCEL);
    onEnd(err);
  };
  const onSessionError = (e: Error) => end(new WireError(e.message, 14));
  session.on('error', onSessionError);
  const { req, status } = grpcRequest(session, '/etcdserverpb.Watch/Watch', meta);
  const frames = new FrameReader();
  req.on('data', (c: Buffer) => {
    if (closed) return;
    try {
      for (const m of frames.push(c)) onResponse(decodeWatchResponse(m));
    } catch (e) {
      end(e instanceof WireError ? e : new WireError((e as Error).message, 13));
    }
  });
  req.on('error', (e: Error) => end(new WireError(e.message, 14)));
  req.on('end', () => end(new WireError(status.message || `watch stream ended (gRPC status ${status.code ?? 'missing'})`, Number(status.code ?? 14) || 14)));
  for (const c of creates) req.write(frame(c));
  return {
    close: () => {
      if (closed) return;
      closed = true;
      session.off('error', onSessionError);
      session.unref();
      req.close(constants.NGHTTP2_CANCEL);
    },
  };
}

// ---- the call ----

/** Who the reader is to etcd, and how it reaches it: what the Store's etcd3 client gets too. */
export interface WireSecurity {
  auth?: { username: string; password: string };
  /** Where a login's token is kept for the next commands (token-cache.ts); none: one login per process. */
  tokenCache?: TokenCache;
  /** PEM contents (not paths): read once by the caller. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

/**
 * HTTP/2 sessions kept open for many calls (a batch of reads): one connection per endpoint
 * instead of one per call. Unref'd, so they never keep the process alive. Over TLS when
 * `security.tls` is set (as etcd3 does, whatever the endpoint's scheme); with `security.auth`,
 * the etcd token of each endpoint: one Authenticate per endpoint and process, or none while
 * `security.tokenCache` holds a token from an earlier command (token-cache.ts says why that is
 * safe enough, and where it lives).
 */
export class Sessions {
  private readonly open = new Map<string, ClientHttp2Session>();
  private readonly tokens = new Map<string, Promise<string>>();
  constructor(readonly security: WireSecurity = {}) {}
  get(endpoint: string): ClientHttp2Session {
    let s = this.open.get(endpoint);
    if (!s || s.closed || s.destroyed) {
      const tls = this.security.tls;
      s = tls ? connect(endpoint.replace(/^http:/, 'https:'), { ca: tls.ca, cert: tls.cert, key: tls.key }) : connect(endpoint);
      s.setMaxListeners(0);
      s.unref();
      s.on('error', () => this.drop(endpoint));
      this.open.set(endpoint, s);
    }
    return s;
  }
  drop(endpoint: string): void {
    this.open.get(endpoint)?.destroy();
    this.open.delete(endpoint);
  }
  close(): void {
    for (const s of this.open.values()) s.close();
    this.open.clear();
  }
  /** This endpoint's token: the one held, or a new login (Auth/Authenticate on the same session). */
  token(endpoint: string, timeoutMs: number): Promise<string> {
    const { username, password } = this.security.auth!;
    let t = this.tokens.get(endpoint);
    if (!t) {
      const cache = this.security.tokenCache;
      const cached = cache?.get(endpoint, username, password);
      t = cached
        ? Promise.resolve(cached)
        : call(endpoint, '/etcdserverpb.Auth/Authenticate', encodeAuthenticate(username, password), timeoutMs, this, {})
            .then(decodeAuthToken)
            .then((token) => (cache?.put(endpoint, username, password, token), token));
      this.tokens.set(endpoint, t);
      t.catch(() => this.forgetToken(endpoint));
    }
    return t;
  }
  /** Drops the token held for this endpoint (etcd no longer knows it, or the login failed), cached one included. */
  forgetToken(endpoint: string): void {
    this.tokens.delete(endpoint);
    const a = this.security.auth;
    if (a) this.security.tokenCache?.forget(endpoint, a.username, a.password);
  }
}

/**
 * One unary gRPC call over HTTP/2; resolves with the response message. With a user in
 * `shared.security`, the call carries its token (`token` metadata, as etcd's clients send it);
 * a token etcd no longer knows (expired, etcd restarted) is replaced once.
 */
export async function unaryCall(endpoint: string, path: string, message: Buffer, timeoutMs: number, shared?: Sessions): Promise<Buffer> {
  if (!shared?.security.auth) return call(endpoint, path, message, timeoutMs, shared, {});
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const token = await shared.token(endpoint, timeoutMs);
    try {
      return await call(endpoint, path, message, Math.max(1, deadline - Date.now()), shared, { token });
    } catch (e) {
      if (attempt > 0 || !(e instanceof WireError) || e.code !== 16 || !/invalid auth token/i.test(e.message)) throw e;
      shared.forgetToken(endpoint);
    }
  }
}

/** One request, with `meta` as extra headers. */
function call(endpoint: string, path: string, message: Buffer, timeoutMs: number, shared: Sessions | undefined, meta: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const session = shared ? shared.get(endpoint) : connect(endpoint);
    let done = false;
    const finish = (err: Error | undefined, value?: Buffer, sessionBroke = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.off('error', onSessionError);
      if (!shared) session.close();
      if (err) {
        // A shared session serves other calls: only this call's stream goes on a deadline.
        if (!shared) session.destroy();
        else if (sessionBroke) shared.drop(endpoint);
        else req.close(constants.NGHTTP2_CANCEL);
        reject(err);
      } else resolve(value!);
    };
    const timer = setTimeout(() => finish(new WireError(`deadline of ${timeoutMs} ms exceeded`, 4)), timeoutMs);
    const onSessionError = (e: Error) => finish(new WireError(e.message, 14), undefined, true);
    session.on('error', onSessionError);
    const { req, status } = grpcRequest(session, path, { 'grpc-timeout': `${timeoutMs}m`, ...meta });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (e: Error) => finish(new WireError(e.message, 14), undefined, true));
    req.on('end', () => {
      if (status.code !== '0') return finish(new WireError(status.message || `gRPC status ${status.code ?? 'missing'}`, Number(status.code ?? 2)));
      const body = Buffer.concat(chunks);
      if (body.length < 5 || body[0] !== 0) return finish(new WireError('etcd sent an unexpected (compressed or empty) answer', 13));
      finish(undefined, body.subarray(5, 5 + body.readUInt32BE(1)));
    });
    req.end(frame(message));
  });
}

/** A gRPC request on the session; `status` fills in from its headers or trailers (grpc-status, grpc-message). */
function grpcRequest(session: ClientHttp2Session, path: string, headers: Record<string, string>) {
  const req = session.request({
    [constants.HTTP2_HEADER_METHOD]: 'POST',
    [constants.HTTP2_HEADER_PATH]: path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  const status: { code?: string; message: string } = { message: '' };
  const onMeta = (h: Record<string, unknown>) => {
    if (h['grpc-status'] !== undefined) {
      status.code = String(h['grpc-status']);
      status.message = decodeURIComponent(String(h['grpc-message'] ?? ''));
    }
  };
  req.on('response', onMeta);
  req.on('trailers', onMeta);
  return { req, status };
}

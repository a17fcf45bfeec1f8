// The one way every verb reaches etcd: resolve the endpoints, connect with short deadlines (a
// CLI must fail in seconds, not hang), hand out a Store, and close it all at the end so the
// process exits promptly. etcd3 (and gRPC under it) is imported here lazily, on first use, so
// that verbs which never touch etcd (explain, dev, --help) start without loading it.
import type { Etcd3 } from 'etcd3';
import type { Store } from '../../../crds/api/store.js';
import { UnavailableError } from '../../../crds/api/errors.js';
import { resolveEndpoints, type EndpointFlags, type ResolvedEndpoints } from './endpoints.js';
import { EtcdReader, type Reader } from './reader.js';

export interface ClientOptions extends EndpointFlags {
  /** Deadline of one etcd call in ms (--request-timeout). */
  requestTimeoutMs?: number;
}

export class Client {
  private etcd?: Etcd3;
  private storeP?: Promise<Store>;
  resolved?: ResolvedEndpoints;

  constructor(private readonly opts: ClientOptions) {}

  /**
   * A reader for verbs that only read (get, describe): a small gRPC client that starts far
   * faster than etcd3 (see wire.ts). KIWI_READ_VIA=etcd3 reads through the Store instead.
   */
  async reader(): Promise<Reader> {
    if (process.env.KIWI_READ_VIA === 'etcd3') return this.store();
    this.resolved ??= await resolveEndpoints(this.opts);
    return new EtcdReader(this.resolved.endpoints, this.opts.requestTimeoutMs ?? 2000);
  }

  /** The Store, connected on first use: for writes and watches. */
  store(): Promise<Store> {
    this.storeP ??= this.open();
    return this.storeP;
  }

  private async open(): Promise<Store> {
    this.resolved ??= await resolveEndpoints(this.opts);
    const [{ connect }, { Store }] = await Promise.all([import('../../../crds/api/etcd.js'), import('../../../crds/api/store.js')]);
    const timeout = this.opts.requestTimeoutMs ?? 2000;
    this.etcd = connect({ endpoints: this.resolved.endpoints, callTimeoutMs: timeout, dialTimeoutMs: Math.min(timeout, 1500) });
    // No retries: a CLI reports a dead etcd within one deadline (~2 s) and the user re-runs;
    // a retry would double the wait on an endpoint that does not answer.
    return new Store(this.etcd, { endpoints: this.resolved.endpoints, retries: 0 });
  }

  /** Rewrites "etcd did not answer" into one line that says where the address came from and what to do. */
  explain(err: unknown): unknown {
    if (!(err instanceof UnavailableError) || !this.resolved) return err;
    const cause = shortCause(err.message, this.opts.requestTimeoutMs ?? 2000);
    const where = this.resolved.endpoints.join(',');
    return new UnavailableError(
      `cannot reach etcd at ${where} (from ${this.resolved.source}): ${cause}. Start one with \`kiwictl dev up\`, or set --endpoints / KIWI_ENDPOINTS`,
    );
  }

  close(): void {
    this.etcd?.close();
    this.etcd = undefined;
  }
}

/** gRPC's messages are long; the user needs the gist. */
function shortCause(msg: string, timeoutMs: number): string {
  if (/ECONNREFUSED/.test(msg)) return 'connection refused';
  if (/ECONNRESET|socket hang up/.test(msg)) return 'connection reset';
  if (/deadline|timed? ?out/i.test(msg)) return `no answer within ${timeoutMs} ms`;
  if (/ENOTFOUND|EAI_AGAIN/.test(msg)) return 'host name not found';
  if (/circuit/i.test(msg)) return 'it failed repeatedly';
  return (/\(([^)]*)\)/.exec(msg)?.[1] ?? msg).split('\n')[0];
}

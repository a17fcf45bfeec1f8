// The Store (crds/api/store.ts) over kiwictl's small gRPC client (wire.ts) instead of etcd3:
// the part of etcd3's client the Store's reads and writes use, KV/Txn (kv.txn) and a prefix read
// (getAll().prefix().exec()), with the same request and answer shapes. So `apply`, `delete` and
// the other one-shot writes keep the Store as the one place that writes (its compares, its
// errors), and skip loading etcd3, gRPC and protobufjs (~90 ms of a ~230 ms `kiwictl apply`).
// Leases and the dry run need the real etcd3 client: Client.store() gives that one (a watch of
// one object goes over watch.ts).
//
// Failures are thrown as etcd3's gRPC client words them ("14 UNAVAILABLE: ...", "4
// DEADLINE_EXCEEDED: ...", "7 PERMISSION_DENIED: ..."), which Store.translate and
// Client.explain read; an endpoint that does not answer is skipped for the next one, as etcd3
// fails over between hosts.
import { prefixEnd } from '../../../crds/api/keys.js';
import { decodeTxn, encodeTxn, Sessions, unaryCall, WireError, type TxnCompare, type TxnKv, type TxnOp, type TxnResult, type WireSecurity } from './wire.js';

const GRPC_CODE_NAMES: Record<number, string> = {
  1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 10: 'ABORTED', 11: 'OUT_OF_RANGE', 12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 15: 'DATA_LOSS', 16: 'UNAUTHENTICATED',
};

export class WireEtcd {
  private readonly sessions: Sessions;
  readonly kv = { txn: (req: { compare?: TxnCompare[]; success?: TxnOp[]; failure?: TxnOp[] }): Promise<TxnResult> => this.txn(req) };

  constructor(
    private readonly endpoints: string[],
    private readonly timeoutMs: number,
    security: WireSecurity = {},
  ) {
    this.sessions = new Sessions(security);
  }

  async txn(req: { compare?: TxnCompare[]; success?: TxnOp[]; failure?: TxnOp[] }): Promise<TxnResult> {
    const msg = encodeTxn(req);
    let last: WireError | undefined;
    for (const ep of this.endpoints) {
      try {
        return decodeTxn(await unaryCall(ep, '/etcdserverpb.KV/Txn', msg, this.timeoutMs, this.sessions));
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        last = e;
        if (e.code !== 14 && e.code !== 4) break; // the next member would say the same
      }
    }
    throw new Error(`${last!.code} ${GRPC_CODE_NAMES[last!.code] ?? 'UNKNOWN'}: ${last!.message}`);
  }

  /** etcd3's getAll().prefix(p).exec(): the keys under a prefix. */
  getAll() {
    return {
      prefix: (p: string) => ({
        exec: async (): Promise<{ kvs: TxnKv[] }> => {
          const r = await this.txn({ success: [{ request_range: { key: Buffer.from(p), range_end: prefixEnd(p) } }] });
          return { kvs: r.responses[0]?.response_range?.kvs ?? [] };
        },
      }),
    };
  }

  close(): void {
    this.sessions.close();
  }
}

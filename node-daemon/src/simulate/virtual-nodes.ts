// Simulated nodes, as Kubernetes' kubemark has hollow nodes: one process stands in for many
// node daemons so that the operator can be driven at 1,000 or 10,000 nodes on one machine.
// Each virtual node is registered (a Node object), heartbeats (its key under one shared
// lease) and watches its calendar (one watcher over the calendar prefix for all of them),
// but enforces nothing on the host: it only counts the entries it sees start and end.
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { Calendar, Node, Logger, Store } from '../../../crds/api/index.js';
import { MAX_TXN_OPS, compare, keys, putOp, rfc3339 } from '../../../crds/api/index.js';
import { heartbeatPeriodMs, heartbeatValue } from '../../../crds/api/heartbeat.js';

export interface VirtualNodesOptions {
  count: number;
  /** Nodes are named `${prefix}-${i}` (zero-padded). */
  prefix: string;
  leaseTtlSeconds: number;
  labels?: Record<string, string>;
}

export interface VirtualNodes {
  names: string[];
  /** Entries seen in calendars right now, over all virtual nodes. */
  entries(): number;
  stop(): Promise<void>;
}

export function virtualNodeNames(o: Pick<VirtualNodesOptions, 'count' | 'prefix'>): string[] {
  const width = String(Math.max(0, o.count - 1)).length;
  return Array.from({ length: o.count }, (_, i) => `${o.prefix}-${String(i).padStart(width, '0')}`);
}

export async function startVirtualNodes(store: Store, etcd: Etcd3, o: VirtualNodesOptions, log: Logger): Promise<VirtualNodes> {
  const names = virtualNodeNames(o);
  const now = rfc3339(Date.now());
  // Register: create each Node that is missing, in transactions of up to MAX_TXN_OPS.
  for (let i = 0; i < names.length; i += MAX_TXN_OPS / 2) {
    const chunk = names.slice(i, i + MAX_TXN_OPS / 2);
    await Promise.all(
      chunk.map((name) => {
        const node: Node = {
          apiVersion: 'kiwi.dev/v1alpha1',
          kind: 'Node',
          metadata: { name, uid: `virtual-${name}`, generation: 1, creationTimestamp: now, labels: { 'kiwi.dev/virtual': 'true', ...(o.labels ?? {}) } },
          spec: { address: '127.0.0.1', sshPort: 22 },
        };
        const key = keys.spec({ kind: 'Node', name });
        return store.txn(`register virtual node ${name}`, [compare(key, 'Create', 'Equal', 0)], [putOp(key, node), putOp(keys.status({ kind: 'Node', name }), { capacity: { cpus: 1, memoryBytes: 1 << 30, gpus: 0 }, daemonVersion: 'virtual' })]);
      }),
    );
  }
  // Heartbeat: one lease for all (its keys vanish together when this process dies), and every
  // value rewritten each TTL/3 as a real daemon does (the operator judges liveness by change).
  let lease: Lease = etcd.lease(o.leaseTtlSeconds, { autoKeepAlive: true });
  let leaseId = await lease.grant();
  const beatAll = async () => {
    const beat = heartbeatValue(Date.now(), 'virtual', o.leaseTtlSeconds);
    for (let i = 0; i < names.length; i += MAX_TXN_OPS) {
      await store.txn('virtual heartbeats', [], names.slice(i, i + MAX_TXN_OPS).map((n) => putOp(keys.heartbeat(n), beat, leaseId)));
    }
  };
  await beatAll();
  let beating = false;
  const beatTimer = setInterval(() => {
    if (beating) return;
    beating = true;
    beatAll().catch((err) => log.warn({ err }, 'cannot rewrite the virtual heartbeats; trying again')).finally(() => (beating = false));
  }, heartbeatPeriodMs(o.leaseTtlSeconds));
  // A lost lease (expired, or revoked by a resumed old raft leader: etcd-io/etcd#12528) is
  // replaced at once, as a real daemon does (register/heartbeat.ts).
  let stopped = false;
  const onLost = (lost: Lease) => (err: unknown) => {
    if (stopped || lost !== lease) return;
    log.warn({ err }, 'the virtual nodes\' heartbeat lease is lost; granting a new one');
    const next = etcd.lease(o.leaseTtlSeconds, { autoKeepAlive: true });
    next.on('lost', onLost(next));
    lease = next;
    next.grant().then((id) => {
      leaseId = id;
      return beatAll();
    }).catch((e) => log.warn({ err: e }, 'cannot grant a new heartbeat lease; the next beat tries again'));
  };
  lease.on('lost', onLost(lease));
  // Calendars: one watcher over the prefix; count what the virtual nodes hold.
  const mine = new Set(names);
  const counts = new Map<string, number>();
  const watcher: Watcher = await etcd.watch().prefix(keys.calendarPrefix()).create();
  watcher.on('put', (kv) => {
    const cal = JSON.parse(kv.value.toString()) as Calendar;
    if (mine.has(cal.node)) counts.set(cal.node, cal.entries.length);
  });
  watcher.on('delete', (kv) => counts.delete(kv.key.toString().slice(keys.calendarPrefix().length)));
  log.info({ count: names.length, prefix: o.prefix }, 'virtual nodes registered and heartbeating');
  return {
    names,
    entries: () => [...counts.values()].reduce((a, b) => a + b, 0),
    async stop() {
      stopped = true;
      clearInterval(beatTimer);
      await watcher.cancel().catch(() => undefined);
      await lease.revoke().catch(() => undefined);
    },
  };
}

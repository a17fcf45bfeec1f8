// Simulated nodes, as Kubernetes' kubemark has hollow nodes: one process stands in for many
// node daemons so that the operator can be driven at 1,000 or 10,000 nodes on one machine.
// Each virtual node is registered (a Node object), heartbeats (its key under one shared
// lease) and watches its calendar (one watcher over the calendar prefix for all of them),
// but enforces nothing on the host: it only counts the entries it sees start and end.
// With `power`, they obey power saving as machines would: a node the operator set PoweringOff
// goes down (its heartbeat key is deleted, its beats stop), and one whose wake-on-LAN magic
// packet arrives (UDP on 127.0.0.1) heartbeats again bootTime later.
import { createSocket } from 'node:dgram';
import type { Etcd3, IKeyValue, Lease } from 'etcd3';
import type { Calendar, Node, NodeStatus, Logger, Store } from '../../../crds/api/index.js';
import { ListWatch, MAX_TXN_OPS, compare, deleteOp, keys, parseValue, putOp, rfc3339 } from '../../../crds/api/index.js';
import { heartbeatLeaseTtlSeconds, heartbeatPeriodMs, heartbeatValue, MAX_BEATS_IN_FLIGHT } from '../../../crds/api/heartbeat.js';
import { magicPacket } from '../../../crds/api/wol.js';

export interface VirtualNodesOptions {
  count: number;
  /** Nodes are named `${prefix}-${i}` (zero-padded). */
  prefix: string;
  leaseTtlSeconds: number;
  labels?: Record<string, string>;
  /** Obey power off and on: boot time, and the UDP port on 127.0.0.1 where magic packets come in. */
  power?: { bootTimeMs: number; wolPort: number };
}

export interface VirtualNodes {
  names: string[];
  /** Entries seen in calendars right now, over all virtual nodes. */
  entries(): number;
  /** Nodes powered off now (with `power`). */
  off(): string[];
  /** Power-offs and wakes seen so far. */
  cycles(): { off: number; on: number };
  stop(): Promise<void>;
}

/** A locally administered MAC per virtual node (02:4b:69:..), from its index. */
export function virtualMac(i: number): string {
  return ['02', '4b', '69', (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff].map((x) => (typeof x === 'string' ? x : x.toString(16).padStart(2, '0'))).join(':');
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
          spec: { address: '127.0.0.1', sshPort: 22, ...(o.power ? { wakeOnLan: { mac: virtualMac(names.indexOf(name)), broadcast: '127.0.0.1', port: o.power.wolPort } } : {}) },
        };
        const key = keys.spec({ kind: 'Node', name });
        return store.txn(`register virtual node ${name}`, [compare(key, 'Create', 'Equal', 0)], [putOp(key, node), putOp(keys.status({ kind: 'Node', name }), { capacity: { cpus: 1, memoryBytes: 1 << 30, gpus: 0 }, daemonVersion: 'virtual' })]);
      }),
    );
  }
  // Heartbeat: one lease for all (its keys vanish together when this process dies), and every
  // value rewritten each TTL/3 as a real daemon does (the operator judges liveness by change).
  let lease: Lease = etcd.lease(heartbeatLeaseTtlSeconds(o.leaseTtlSeconds), { autoKeepAlive: true });
  let leaseId = await lease.grant();
  /** Powered off (or still booting): no heartbeat. */
  const down = new Set<string>();
  const cycles = { off: 0, on: 0 };
  const beatAll = async () => {
    const beat = heartbeatValue(Date.now(), 'virtual', o.leaseTtlSeconds);
    const up = names.filter((n) => !down.has(n));
    for (let i = 0; i < up.length; i += MAX_TXN_OPS) {
      await store.txn('virtual heartbeats', [], up.slice(i, i + MAX_TXN_OPS).map((n) => putOp(keys.heartbeat(n), beat, leaseId)));
    }
  };
  await beatAll();
  // Each beat on its own, as a real daemon's (register/heartbeat.ts): one stuck on a member that
  // stopped answering does not hold up the next.
  let beating = 0;
  const beatTimer = setInterval(() => {
    if (beating >= MAX_BEATS_IN_FLIGHT) return;
    beating++;
    beatAll().catch((err) => log.warn({ err }, 'cannot rewrite the virtual heartbeats; trying again')).finally(() => beating--);
  }, heartbeatPeriodMs(o.leaseTtlSeconds));
  // A lost lease (expired, or revoked by a resumed old raft leader: etcd-io/etcd#12528) is
  // replaced at once, as a real daemon does (register/heartbeat.ts).
  let stopped = false;
  const onLost = (lost: Lease) => (err: unknown) => {
    if (stopped || lost !== lease) return;
    log.warn({ err }, 'the virtual nodes\' heartbeat lease is lost; granting a new one');
    const next = etcd.lease(heartbeatLeaseTtlSeconds(o.leaseTtlSeconds), { autoKeepAlive: true });
    next.on('lost', onLost(next));
    lease = next;
    next.grant().then((id) => {
      leaseId = id;
      return beatAll();
    }).catch((e) => log.warn({ err: e }, 'cannot grant a new heartbeat lease; the next beat tries again'));
  };
  lease.on('lost', onLost(lease));
  // Calendars, listed and then watched (the one list-then-watch): count what the virtual nodes hold.
  const mine = new Set(names);
  const counts = new Map<string, number>();
  const count = (kv: IKeyValue, deleted: boolean) => {
    const node = kv.key.toString().slice(keys.calendarPrefix().length);
    if (!mine.has(node)) return;
    const cal = deleted ? undefined : (parseValue(kv.value) as { value?: Partial<Calendar> }).value;
    if (Array.isArray(cal?.entries)) counts.set(node, cal.entries.length);
    else counts.delete(node);
  };
  const calendars = new ListWatch(store, {
    what: 'list calendars of virtual nodes',
    list: [{ prefix: keys.calendarPrefix() }],
    onList: ([kvs]) => {
      counts.clear();
      for (const kv of kvs) count(kv, false);
    },
    onEvents: (evs) => evs.forEach((e) => count(e.kv, e.deleted)),
    onListFailed: (err) => log.warn({ err }, 'cannot list the calendars of virtual nodes; retrying'),
  });
  await calendars.start();
  const power = o.power ? await obeyPower(store, etcd, names, o.power, down, cycles, leaseId, o.leaseTtlSeconds, log) : undefined;
  log.info({ count: names.length, prefix: o.prefix, power: o.power ?? null }, 'virtual nodes registered and heartbeating');
  return {
    names,
    entries: () => [...counts.values()].reduce((a, b) => a + b, 0),
    off: () => [...down].sort(),
    cycles: () => ({ ...cycles }),
    async stop() {
      stopped = true;
      clearInterval(beatTimer);
      await power?.stop();
      await calendars.stop();
      await lease.revoke().catch(() => undefined);
    },
  };
}

/**
 * Power as the machines would take it: PoweringOff in a node's status powers it off (the daemon
 * of a wake-on-LAN node does so itself); a magic packet for its MAC boots it, bootTime long.
 */
async function obeyPower(store: Store, etcd: Etcd3, names: string[], p: NonNullable<VirtualNodesOptions['power']>, down: Set<string>, cycles: { off: number; on: number }, leaseId: string, ttl: number, log: Logger) {
  const mine = new Set(names);
  const byMac = new Map(names.map((n, i) => [virtualMac(i), n]));
  const booting = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const statusPrefix = keys.statusPrefix('Node');
  const watcher = await etcd.watch().prefix(statusPrefix).create();
  watcher.on('put', (kv) => {
    const name = kv.key.toString().slice(statusPrefix.length);
    if (!mine.has(name) || down.has(name)) return;
    let st: NodeStatus;
    try {
      st = JSON.parse(kv.value.toString()) as NodeStatus;
    } catch {
      return;
    }
    if (st.phase !== 'PoweringOff') return;
    down.add(name);
    cycles.off++;
    store.txn(`virtual node ${name} powers off`, [], [deleteOp(keys.heartbeat(name))]).catch((err) => log.warn({ err, node: name }, 'cannot delete the heartbeat of a virtual node powering off'));
  });
  const sock = createSocket('udp4');
  sock.on('message', (msg) => {
    if (msg.length !== 102) return;
    const mac = [...msg.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    const name = byMac.get(mac);
    if (!name || !msg.equals(magicPacket(mac)) || !down.has(name) || booting.has(name)) return;
    booting.add(name);
    const t = setTimeout(() => {
      timers.delete(t);
      booting.delete(name);
      down.delete(name);
      cycles.on++;
      store.txn(`virtual node ${name} is up`, [], [putOp(keys.heartbeat(name), heartbeatValue(Date.now(), 'virtual', ttl), leaseId)]).catch((err) => log.warn({ err, node: name }, 'cannot write the heartbeat of a virtual node that booted'));
    }, p.bootTimeMs);
    timers.add(t);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: '127.0.0.1', port: p.wolPort }, resolve);
  });
  return {
    async stop() {
      for (const t of timers) clearTimeout(t);
      sock.close();
      await watcher.cancel().catch(() => undefined);
    },
  };
}

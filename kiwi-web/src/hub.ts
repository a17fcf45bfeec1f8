// The hub: ONE set of informers (crds/api) over etcd for the whole server, and every open page
// or API watch fed from it. A page costs a Set entry and a socket, never an etcd watch: each
// change is serialized once and written to every subscriber of its kind.
import { Informer, type InformerEvent, type KiwiObject, type Logger, type Store } from '../../crds/api/index.js';
import { schemaCheck } from '../../crds/api/validate.js';

/** The kinds this server serves (each from one informer), read-only but for Bookings. */
export const WATCHED_KINDS = ['Node', 'Booking', 'Pool', 'BookingSchedule'] as const;
export type WatchedKind = (typeof WATCHED_KINDS)[number];
export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KiwiObject };

export interface Subscriber {
  kind: WatchedKind;
  /** Only this namespace's objects (bookings, schedules; undefined: all). */
  namespace?: string;
  /** Receives one serialized event (a JSON line). */
  send(line: string, ev: WatchEvent): void;
}

export class Hub {
  private readonly informers = new Map<WatchedKind, Informer<WatchedKind>>();
  private readonly subs = new Set<Subscriber>();
  private synced = false;

  constructor(store: Store, private readonly log: Logger) {
    for (const kind of WATCHED_KINDS) {
      this.informers.set(kind, new Informer(store, kind, {
        onEvent: (ev) => this.publish(kind, ev as InformerEvent<KiwiObject>),
        onError: (err) => log.warn({ err, kind }, 'watch broke; re-listing'),
        // A key that is not a valid object, by its structure or the schema (anyone who may write it is untrusted), is left out.
        check: schemaCheck,
        onInvalid: (p) => log.warn({ kind, key: p.key, problem: p.problem }, 'not served: an invalid object in etcd'),
      }) as unknown as Informer<WatchedKind>);
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
    this.synced = true;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  get ready(): boolean {
    return this.synced;
  }

  /** The etcd revision the cache has seen (the resourceVersion of a list). */
  revision(): number {
    return Math.max(...[...this.informers.values()].map((i) => i.revision));
  }

  list(kind: WatchedKind, namespace?: string): KiwiObject[] {
    const all = this.informers.get(kind)!.list() as KiwiObject[];
    const items = namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
    return items.sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  }

  get(kind: WatchedKind, name: string, namespace?: string): KiwiObject | undefined {
    return this.informers.get(kind)!.get(namespace ? `${namespace}/${name}` : name) as KiwiObject | undefined;
  }

  /** Subscribes; returns the function that unsubscribes. */
  subscribe(s: Subscriber): () => void {
    this.subs.add(s);
    return () => this.subs.delete(s);
  }

  get subscribers(): number {
    return this.subs.size;
  }

  private publish(kind: WatchedKind, ev: InformerEvent<KiwiObject>): void {
    const out: WatchEvent = { type: ev.type, object: ev.object };
    let line: string | undefined;
    for (const s of this.subs) {
      if (s.kind !== kind || (s.namespace !== undefined && ev.object.metadata.namespace !== s.namespace)) continue;
      line ??= JSON.stringify(out);
      try {
        s.send(line, out);
      } catch (err) {
        this.log.warn({ err }, 'a watcher could not be written to; dropping it');
        this.subs.delete(s);
      }
    }
  }
}

const keyOf = (o: KiwiObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

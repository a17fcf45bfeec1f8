// Read-modify-write, once: Kubernetes' GuaranteedUpdate. Read the object, let `mutate` change a
// copy, write it compare-and-swapped on the revision read; on a lost swap read again and
// re-apply the change to what is there now, so that concurrent changes compose (five
// `extend +10m` make +50m) instead of the last writer undoing the others. Every
// read-modify-write of a spec or a status goes through here.
import type { KindName, ObjectOfKind } from './types.js';
import { ConflictError, NotFoundError } from './errors.js';
import { refString, type ObjectRef } from './keys.js';
import type { Store } from './store.js';

export interface UpdateOptions {
  /** Attempts before giving up with a ConflictError (default 10). */
  tries?: number;
  /** Waits between attempts, ms (default: a jittered 2^attempt ms, at most 200). */
  backoff?: (attempt: number) => number;
}

const jitter = (attempt: number) => Math.min(200, 2 ** attempt) * (0.5 + Math.random());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Changes an object's user-owned part (spec, labels, annotations). `mutate` gets a copy of the
 * current object, changes it in place and returns false when nothing is to change; it may run
 * more than once (once per attempt), so it must decide from the object it is given alone.
 */
export async function guaranteedUpdate<K extends KindName>(
  store: Store,
  ref: ObjectRef & { kind: K },
  mutate: (obj: ObjectOfKind<K>) => boolean,
  o: UpdateOptions = {},
): Promise<{ object: ObjectOfKind<K>; changed: boolean }> {
  const tries = o.tries ?? 10;
  for (let i = 0; ; i++) {
    const cur = await store.get(ref);
    if (!cur) throw new NotFoundError(`${ref.kind} ${refString(ref)} not found`);
    const next = structuredClone(cur);
    if (!mutate(next)) return { object: cur, changed: false };
    try {
      return { object: await store.update(next), changed: true };
    } catch (e) {
      if (!(e instanceof ConflictError) || i + 1 >= tries) throw e;
    }
    await sleep((o.backoff ?? jitter)(i));
  }
}

/**
 * Changes an object's status the same way: `mutate` gets the current status (undefined: none
 * yet) and returns the status to write, or undefined to leave it. Returns what is there after.
 */
export async function guaranteedUpdateStatus<K extends KindName>(
  store: Store,
  ref: ObjectRef & { kind: K },
  mutate: (status: ObjectOfKind<K>['status'] | undefined) => NonNullable<ObjectOfKind<K>['status']> | undefined,
  o: UpdateOptions = {},
): Promise<{ status: ObjectOfKind<K>['status'] | undefined; changed: boolean } | undefined> {
  const tries = o.tries ?? 10;
  for (let i = 0; ; i++) {
    const cur = await store.getStored(ref);
    if (!cur) return undefined;
    const status = (cur.object as { status?: ObjectOfKind<K>['status'] }).status;
    const next = mutate(status === undefined ? undefined : structuredClone(status));
    if (next === undefined) return { status, changed: false };
    try {
      await store.updateStatus(ref, next, { expectedStatusRevision: cur.statusRevision });
      return { status: next, changed: true };
    } catch (e) {
      if (!(e instanceof ConflictError) || i + 1 >= tries) throw e;
    }
    await sleep((o.backoff ?? jitter)(i));
  }
}

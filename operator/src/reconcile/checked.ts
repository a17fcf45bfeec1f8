// Objects users write straight into etcd are hostile input: an informer decodes them (identity
// from the key) but does not check them against the schema. Controllers that read kinds other
// than the planner's check each through this, once per spec revision.
import type { KiwiObject } from '../../../crds/api/index.js';
import { validateObject } from '../../../crds/api/validate.js';

export class Checked<T extends KiwiObject> {
  private readonly seen = new Map<string, { rv: string; ok?: T; problem?: string }>();

  /** The object as validated (defaults filled in, its status as stored), or its problem; `onProblem` once per revision. */
  check(obj: T, onProblem?: (problem: string) => void): { ok: T } | { problem: string } {
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const { status, ...userPart } = obj as T & { status?: unknown };
    const rv = String(obj.metadata.resourceVersion);
    let hit = this.seen.get(key);
    if (!hit || hit.rv !== rv) {
      try {
        hit = { rv, ok: validateObject(userPart, `${obj.kind} ${key}`) as T }; // the status is the operator's own
      } catch (e) {
        hit = { rv, problem: (e as Error).message };
        onProblem?.(hit.problem!);
      }
      this.seen.set(key, hit);
    }
    return hit.ok ? { ok: (status !== undefined ? { ...hit.ok, status } : hit.ok) as T } : { problem: hit.problem! };
  }

  /** Drops what is remembered of objects no longer there. */
  forget(keep: Set<string>): void {
    for (const k of this.seen.keys()) if (!keep.has(k)) this.seen.delete(k);
  }
}

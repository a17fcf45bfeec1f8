// Pure: what apply does with each document given what is stored, before anything is written.
// A ClusterConfig is the running cluster's settings: a manifest (such as manifests/examples/)
// sets the fields it names and leaves the others as they are, and one that would take users off
// `admins` or `sshBypassUsers` is refused unless --force says so. (kubectl's apply also leaves
// alone what a manifest never set; Kiwi keeps no last-applied record, so for this one singleton
// "not named" means "keep".) Other kinds are replaced as written: spec, labels, annotations.
import { isDeepStrictEqual } from 'node:util';
import type { KiwiObject } from '../../../../crds/api/types.js';

export type Action = 'created' | 'configured' | 'unchanged';

export interface Prepared {
  /** The documents as apply will write them (a ClusterConfig filled in from the stored one). */
  objects: KiwiObject[];
  /** Refusals (nothing is written when there is one). */
  problems: string[];
}

/** Users a change would take off a list the cluster's safety rests on. */
const GUARDED = ['admins', 'sshBypassUsers'] as const;

export function prepareApply(objects: KiwiObject[], current: (KiwiObject | undefined)[], o: { force?: boolean } = {}): Prepared {
  const problems: string[] = [];
  const out = objects.map((obj, i) => {
    const cur = current[i] as any;
    if (obj.kind !== 'ClusterConfig' || !cur) return obj;
    const next = structuredClone(obj) as any;
    next.spec = { ...(cur.spec ?? {}), ...(next.spec ?? {}) };
    if (!o.force) {
      for (const field of GUARDED) {
        const was: string[] = cur.spec?.[field] ?? [];
        const now: string[] = next.spec[field] ?? [];
        const dropped = was.filter((u) => !now.includes(u));
        if (dropped.length)
          problems.push(
            `clusterconfig ${obj.metadata.name}: this apply would remove ${dropped.join(', ')} from spec.${field} (now ${was.join(', ') || 'empty'}); leave ${field} out of the file to keep it, or add --force to replace it`,
          );
      }
    }
    return next as KiwiObject;
  });
  return { objects: out, problems };
}

/** What apply would do, comparing the parts apply owns: spec, labels, annotations. */
export function wouldDo(obj: KiwiObject, current: KiwiObject | undefined): Action {
  if (!current) return 'created';
  const owned = (o: any) => ({ spec: o.spec, labels: nonEmpty(o.metadata.labels), annotations: nonEmpty(o.metadata.annotations) });
  return isDeepStrictEqual(owned(obj), owned(current)) ? 'unchanged' : 'configured';
}
const nonEmpty = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? m : undefined);

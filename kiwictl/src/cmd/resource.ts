// Resolving what users type into what the store needs: kinds (bk, bookings, Booking), and the
// namespace a namespaced kind is read or written in (the caller's own by default).
import { resolveKind as apiResolveKind, type KindInfo } from '../../../crds/api/kinds.js';
import type { ObjectRef } from '../../../crds/api/keys.js';
import { KiwiError } from '../../../crds/api/errors.js';
import type { DecodeProblem } from '../../../crds/api/decode.js';
import { callerNamespace } from '../client/paths.js';
import { usage } from './verb.js';

/** resolveKind, but an unknown kind is a usage error (exit 2), as kubectl treats it. */
export function resolveKind(text: string | undefined): KindInfo {
  if (!text) throw usage('a KIND is required, e.g. nodes, bookings (bk), clusterconfigs (cc)');
  try {
    return apiResolveKind(text);
  } catch (e) {
    if (e instanceof KiwiError) throw usage(e.message);
    throw e;
  }
}

/** Where a verb reads: one namespace, all of them (undefined), or none for cluster-wide kinds. */
export function namespaceFor(kind: KindInfo, flags: { namespace?: string; allNamespaces?: boolean }): string | undefined {
  if (!kind.namespaced || flags.allNamespaces) return undefined;
  return flags.namespace || callerNamespace();
}

export function refFor(kind: KindInfo, name: string, namespace: string | undefined): ObjectRef {
  return { kind: kind.kind, name, namespace: kind.namespaced ? namespace : undefined };
}

/**
 * A NAME argument, or NAMESPACE/NAME for a namespaced kind (as kill, extend and wait take it):
 * the reference to read. -n and a NAMESPACE/ that disagree are refused.
 */
export function refForArg(kind: KindInfo, arg: string, namespace: string | undefined, flagNamespace?: string): ObjectRef {
  const slash = arg.indexOf('/');
  if (slash < 0) return refFor(kind, arg, namespace);
  if (!kind.namespaced) throw usage(`${arg}: ${kind.plural} have no namespace; give the NAME alone`);
  const ns = arg.slice(0, slash);
  const name = arg.slice(slash + 1);
  if (!ns || !name || name.includes('/')) throw usage(`${arg}: give NAME or NAMESPACE/NAME`);
  if (flagNamespace && flagNamespace !== ns) throw usage(`${arg} is in namespace ${ns}, but -n says ${flagNamespace}; drop one of them`);
  return refFor(kind, name, ns);
}

/** kubectl's resource/name form: booking.kiwi.dev/bk1 */
export function qualifiedName(kind: KindInfo, name: string): string {
  return `${kind.singular}.kiwi.dev/${name}`;
}

/** "KIND/NAME" split: `get bk/x` works as kubectl's does. */
export function splitKindName(arg: string): { kind?: string; name: string } {
  const i = arg.indexOf('/');
  return i > 0 ? { kind: arg.slice(0, i), name: arg.slice(i + 1) } : { name: arg };
}

/** The store reference of an object (store.ts has one too, but importing it would load etcd3). */
export function refOf(obj: { kind: string; metadata: { name?: string; namespace?: string } }): ObjectRef {
  const info = apiResolveKind(obj.kind);
  return { kind: info.kind, name: obj.metadata.name!, namespace: info.namespaced ? obj.metadata.namespace : undefined };
}

/**
 * Collects the keys a listing skipped (values that are not valid objects, see decode.ts) and
 * warns about them once, on stderr: the listing itself still shows everything else.
 */
export function skippedKeys(err: (s: string) => void): { onInvalid: (p: DecodeProblem) => void; warn: () => void } {
  const seen: DecodeProblem[] = [];
  return {
    onInvalid: (p) => void seen.push(p),
    warn: () => {
      if (!seen.length) return;
      const shown = seen.slice(0, 3).map((p) => p.problem).join('; ');
      err(`warning: ${seen.length} stored value${seen.length > 1 ? 's are' : ' is'} not a valid object and ${seen.length > 1 ? 'are' : 'is'} not shown: ${shown}${seen.length > 3 ? ` and ${seen.length - 3} more` : ''}\n`);
    },
  };
}

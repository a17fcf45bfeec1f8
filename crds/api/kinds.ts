// The kinds Kiwi knows, read from the CRDs: names, short names, scope, schema.
import { crds } from './schemas.gen.js';
import type { KindName } from './types.js';
import type { Crd } from './meta.js';
import { NotFoundError } from './errors.js';

export interface KindInfo {
  kind: KindName;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  crd: Crd;
}

export const KINDS: KindInfo[] = crds.map((crd) => ({
  kind: crd.spec.names.kind as KindName,
  plural: crd.spec.names.plural,
  singular: crd.spec.names.singular ?? crd.spec.names.kind.toLowerCase(),
  shortNames: crd.spec.names.shortNames ?? [],
  namespaced: crd.spec.scope === 'Namespaced',
  crd,
}));

export function kindInfo(kind: KindName): KindInfo {
  return KINDS.find((k) => k.kind === kind)!;
}

/** Resolves what a user typed (bookings, booking, bk, Booking, bookings.kiwi.dev) to a kind. */
export function resolveKind(text: string): KindInfo {
  const t = text.toLowerCase().replace(/\.kiwi\.dev$/, '');
  const found = KINDS.find((k) => k.plural === t || k.singular === t || k.kind.toLowerCase() === t || k.shortNames.includes(t));
  if (!found) {
    const names = KINDS.map((k) => `${k.plural} (${[k.singular, ...k.shortNames].join(', ')})`).join('; ');
    throw new NotFoundError(`unknown kind "${text}": Kiwi knows ${names}`);
  }
  return found;
}

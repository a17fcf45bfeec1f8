// What a filter answers, in kube-scheduler's manner (its framework's Status and Code): not
// only "no" but whether waiting can help. The filters only say; verdict() alone decides what a
// booking does with the answer, so the reject-or-wait rule is written once.
export type Code = 'Wait' | 'Reject';

export interface FilterStatus {
  /** Reject: refuse a booking that asks for this now. Wait: it may fit later, even a new one. */
  code: Code;
  /** The filter (or rule) that answered. */
  plugin: string;
  /** Why, in words a user can act on. */
  reason: string;
}

export const wait = (plugin: string, reason: string): FilterStatus => ({ code: 'Wait', plugin, reason });
export const reject = (plugin: string, reason: string): FilterStatus => ({ code: 'Reject', plugin, reason });

/** The worst of several answers: any Reject, else any Wait, else undefined (fits). */
export function worst(ss: (FilterStatus | undefined)[]): FilterStatus | undefined {
  return ss.find((s) => s?.code === 'Reject') ?? ss.find((s) => s?.code === 'Wait');
}

/**
 * What a booking does with a filter's answer. A booking being admitted (new, or its spec
 * changed) is refused on a Reject; a booking already admitted is never refused after the fact
 * (what it asked was accepted once): it waits, saying why.
 */
export function verdict(s: FilterStatus, admitting: boolean): 'Reject' | 'Wait' {
  return s.code === 'Reject' && admitting ? 'Reject' : 'Wait';
}

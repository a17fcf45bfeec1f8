// Server-side dry run (`kiwictl apply|alloc --dry-run=server`): what the leading operator would
// decide for a booking, written nowhere. The client puts a request under a short lease in its
// user's own prefix; the leader plans the cluster with the booking added (nothing written but
// the answer, under the same lease), and the client reads the answer and revokes the lease,
// which removes both keys. Identity comes from the key: the user is the prefix's, never the
// value's. See docs/design-notes.md.
import type { Booking, BookingStatus } from './types.js';
import { ROOT } from './keys.js';

export const DRYRUN_PREFIX = ROOT + 'dryrun/';

export const dryRunKeys = {
  request: (user: string, id: string) => `${DRYRUN_PREFIX}${user}/${id}/request`,
  answer: (user: string, id: string) => `${DRYRUN_PREFIX}${user}/${id}/answer`,
};

/** The user and id of a request key; undefined for anything else (answers included). */
export function parseDryRunRequestKey(key: string): { user: string; id: string } | undefined {
  const m = /^\/kiwi\/dryrun\/([a-z_][a-z0-9_.-]{0,31})\/([0-9a-f]{8,64})\/request$/.exec(key);
  return m ? { user: m[1], id: m[2] } : undefined;
}

export interface DryRunRequest {
  booking: Booking;
}

export interface DryRunAnswer {
  /** The status the operator would give the booking now (phase Expired, reason Rejected/Busy: refused). */
  status?: BookingStatus;
  /** The request itself was refused (not JSON, not a Booking, another user's namespace). */
  error?: string;
  /** The operator that answered, and when (RFC 3339). */
  answeredBy?: string;
  time?: string;
}

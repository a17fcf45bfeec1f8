// Server-side dry run (`kiwictl apply|alloc --dry-run=server`): what the leading operator would
// decide for a booking, written nowhere. The client puts a request under a short lease in its
// user's own prefix; the leader plans the cluster with the booking added (nothing written but
// the answer, under the same lease), and the client reads the answer and revokes the lease,
// which removes both keys. Identity comes from the key: the user is the prefix's, never the
// value's. See docs/design-notes.md.
//
// The same channel carries an account manager's change (`kiwictl account add-member ...`): the
// request holds `accountChange` instead of `booking`, and the leader applies it to the Account
// when the prefix's user is one of its managers. Managers get no write on the Account itself,
// because etcd grants per key and its spec also holds the allocation they must not raise.
import { randomBytes } from 'node:crypto';
import type { Watcher } from 'etcd3';
import type { AccountSpec, Booking, BookingStatus } from './types.js';
import type { AccountChange } from './account-change.js';
import { ROOT } from './keys.js';
import { TimeoutError } from './errors.js';
import type { Store } from './store.js';

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
  /** The request itself was refused (not JSON, not a Booking, another user's namespace; not a manager). */
  error?: string;
  /** An account change: the Account's spec after it (unchanged when there was nothing to do). */
  account?: AccountSpec;
  changed?: boolean;
  /** The operator that answered, and when (RFC 3339). */
  answeredBy?: string;
  time?: string;
}

// The client side (kiwictl's --dry-run=server, kiwi-web's dryRun=All): put the request under a
// short lease in the caller's own prefix, wait for the leader's answer, revoke the lease (both keys go).

/** How long the request (and so its answer) may live at most. */
const LEASE_SECONDS = 10;

export async function askDryRun(store: Store, booking: Booking, timeoutMs = 5000): Promise<DryRunAnswer> {
  return ask(store, booking.metadata.namespace!, { booking }, timeoutMs, 'the server-side dry run', '; --dry-run=client checks the input without it');
}

/** Asks the leader to apply an account manager's change as `user` (the caller: etcd lets them write only their own prefix). */
export async function askAccountChange(store: Store, user: string, change: AccountChange, timeoutMs = 5000): Promise<DryRunAnswer> {
  return ask(store, user, { accountChange: change }, timeoutMs, `the change of account ${change.account}`, '; nothing was changed');
}

async function ask(store: Store, user: string, request: object, timeoutMs: number, what: string, hint: string): Promise<DryRunAnswer> {
  const id = randomBytes(8).toString('hex');
  const etcd = store.etcd;
  const lease = etcd.lease(LEASE_SECONDS, { autoKeepAlive: false });
  let watcher: Watcher | undefined;
  try {
    await store.call('start a dry run', () => lease.grant());
    // Watching before the request is written, so the answer cannot be missed.
    const w = (watcher = await store.call('watch for the dry-run answer', () => etcd.watch().key(dryRunKeys.answer(user, id)).create()));
    const answered = new Promise<DryRunAnswer>((resolve) => {
      w.on('put', (kv) => {
        try {
          resolve(JSON.parse(kv.value.toString()) as DryRunAnswer);
        } catch {
          resolve({ error: "the operator's answer is not JSON" });
        }
      });
    });
    await store.call('write the dry-run request', () => lease.put(dryRunKeys.request(user, id)).value(JSON.stringify(request)).exec());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`no kiwi-operator answered ${what} within ${timeoutMs / 1000}s: is one leading? (\`kiwictl info\` warns when none is)${hint}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([answered, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await watcher?.cancel().catch(() => undefined);
    await lease.revoke().catch(() => undefined);
  }
}

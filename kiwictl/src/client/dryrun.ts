// The client of the server-side dry run (crds/api/dryrun.ts): put the request under a short
// lease in the caller's own prefix, wait for the leader's answer, revoke the lease (both keys go).
import { randomBytes } from 'node:crypto';
import type { Booking } from '../../../crds/api/types.js';
import { TimeoutError } from '../../../crds/api/errors.js';
import { dryRunKeys, type DryRunAnswer } from '../../../crds/api/dryrun.js';
import type { Store } from '../../../crds/api/store.js';
import type { Watcher } from 'etcd3';

/** How long the request (and so its answer) may live at most. */
const LEASE_SECONDS = 10;

export async function askDryRun(store: Store, booking: Booking, timeoutMs = 5000): Promise<DryRunAnswer> {
  const user = booking.metadata.namespace!;
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
    await store.call('write the dry-run request', () => lease.put(dryRunKeys.request(user, id)).value(JSON.stringify({ booking })).exec());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`no kiwi-operator answered the server-side dry run within ${timeoutMs / 1000}s: is one leading? (\`kiwictl info\` warns when none is); --dry-run=client checks the input without it`)),
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

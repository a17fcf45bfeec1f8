// What the Store retries: transient etcd failures (unavailable, deadline, broken stream), nothing
// else. Apart from crds/api/etcd.ts so that the Store loads only etcd3's error classes
// (etcd3/lib/errors.js, no gRPC or protobufjs): kiwictl's writes run the Store over its own small
// gRPC client (kiwictl/src/client/wire-etcd.ts) and skip etcd3's ~90 ms load.
import { isRecoverableError, EtcdPermissionDeniedError } from 'etcd3/lib/errors.js';
import { ExponentialBackoff, handleWhen, retry, wrap, type IPolicy } from 'cockatiel';

/** Transient failures (unavailable, deadline, broken stream) are retried; nothing else is. */
export function isTransient(err: unknown): boolean {
  if (err instanceof EtcdPermissionDeniedError) return false;
  if (err instanceof Error && (isRecoverableError(err) || /circuit|deadline|unavailable|ECONNREFUSED/i.test(err.message))) return true;
  return false;
}

export function retryPolicy(maxAttempts = 3): IPolicy {
  return wrap(retry(handleWhen(isTransient), { maxAttempts, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) }));
}

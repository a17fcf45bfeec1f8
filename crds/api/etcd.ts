// Connecting to etcd: a deadline on every unary call, etcd3's own retries switched off so
// that the store's cockatiel policy is the one place that decides what is retried.
import { Etcd3, isRecoverableError, EtcdPermissionDeniedError, type IOptions } from 'etcd3';
import { ConsecutiveBreaker, ExponentialBackoff, handleWhen, noop, retry, circuitBreaker, wrap, type IPolicy } from 'cockatiel';
import { readFileSync } from 'node:fs';

export interface EtcdConfig {
  endpoints: string[];
  /** Deadline of one call, in milliseconds. */
  callTimeoutMs?: number;
  dialTimeoutMs?: number;
  auth?: { username: string; password: string };
  tls?: { caFile: string; certFile?: string; keyFile?: string };
}

export function connect(cfg: EtcdConfig): Etcd3 {
  const timeout = cfg.callTimeoutMs ?? 5000;
  const opts: IOptions = {
    hosts: cfg.endpoints,
    dialTimeout: cfg.dialTimeoutMs ?? timeout,
    // gRPC's default 4 MiB receive limit is hit by listing ~10,000 nodes with status; etcd itself
    // sends up to its own limits, so accept what it sends.
    grpcOptions: { 'grpc.max_receive_message_length': 1 << 30 },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    faultHandling: {
      // A breaker per host lets a multi-member client skip a dead member quickly; the short
      // half-open time keeps a single-member client from refusing calls long after etcd is back.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
      global: noop,
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }).next(),
    },
  };
  if (cfg.auth) opts.auth = cfg.auth;
  if (cfg.tls) {
    opts.credentials = {
      rootCertificate: readFileSync(cfg.tls.caFile),
      ...(cfg.tls.certFile ? { certChain: readFileSync(cfg.tls.certFile) } : {}),
      ...(cfg.tls.keyFile ? { privateKey: readFileSync(cfg.tls.keyFile) } : {}),
    };
  }
  return new Etcd3(opts);
}

/** Transient failures (unavailable, deadline, broken stream) are retried; nothing else is. */
export function isTransient(err: unknown): boolean {
  if (err instanceof EtcdPermissionDeniedError) return false;
  if (err instanceof Error && (isRecoverableError(err) || /circuit|deadline|unavailable|ECONNREFUSED/i.test(err.message))) return true;
  return false;
}

export function retryPolicy(maxAttempts = 3): IPolicy {
  return wrap(retry(handleWhen(isTransient), { maxAttempts, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) }));
}

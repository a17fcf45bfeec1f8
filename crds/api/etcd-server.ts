// How every etcd that Kiwi starts or documents is run (kiwictl dev up, the quickstart, the chart's
// bundled etcd, docs/operations.md): the flags that keep a lab's etcd bounded over years, and the
// quota that the operator's and daemons' db-size metric is measured against. Pure data.

/** etcd's default backend quota (2 GiB): past it every write fails with "mvcc: database space exceeded". */
export const ETCD_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * The largest request Kiwi sends: an object's spec and status (each at most MAX_OBJECT_BYTES) in one
 * transaction, with keys, compares and framing. etcd 3.4's default (1.5 MiB) fits it; naming it
 * keeps that true when the schema's limit moves (test/unit/deploy/etcd-server.test.ts checks it), and
 * 2 MiB leaves room for an apply batch of many small objects. etcd advises against more than 10 MiB.
 */
export const ETCD_MAX_REQUEST_BYTES = 2 * 1024 * 1024;

/** Share of the quota past which the operator and the daemons warn (an event and a log line). */
export const ETCD_DB_SIZE_WARN_RATIO = 0.8;

/**
 * How often a client may ping while no data flows: Kiwi's clients ping every second
 * (crds/api/etcd.ts KEEPALIVE) so that a member that stops answering is left within 2 s; etcd's
 * default (5 s) sends such a client GOAWAY too_many_pings after three pings on a quiet
 * connection (an idle watch), and it reconnected every 4 s for ever. Half a second leaves room
 * for timer jitter.
 */
export const ETCD_KEEPALIVE_MIN_TIME_FLAG = '--grpc-keepalive-min-time=500ms';

/**
 * Flags for an etcd that Kiwi starts. Periodic auto-compaction keeps one hour of history, so the
 * revisions of a lab's churn (every booking's life writes a dozen) are reclaimed instead of
 * growing the database to the quota; compaction frees pages for reuse, only `etcdctl defrag`
 * returns them to the file system (docs/operations.md).
 */
export const ETCD_SERVER_FLAGS: readonly string[] = [
  '--auto-compaction-mode=periodic',
  '--auto-compaction-retention=1h',
  `--quota-backend-bytes=${ETCD_QUOTA_BACKEND_BYTES}`,
  `--max-request-bytes=${ETCD_MAX_REQUEST_BYTES}`,
  ETCD_KEEPALIVE_MIN_TIME_FLAG,
];

// Node registration and the status fields the daemon owns, written read-modify-write (guaranteedUpdateStatus) with a
// compare-and-swap on the status revision, so the operator's fields (phase, Ready) survive.
import { isDeepStrictEqual } from 'node:util';
import { AlreadyExistsError, API_VERSION, ForbiddenError, guaranteedUpdateStatus, type Node, type NodeStatus, type Store, type Logger } from '../../../crds/api/index.js';
import { mergeStatus, type OwnedStatus } from '../decide/status.js';

export interface RegisterOptions {
  node: string;
  address: string;
  sshPort?: number;
  labels?: Record<string, string>;
}

/**
 * Creates the Node when it does not exist yet; an existing Node (an admin's, or ours) is kept.
 * With etcd auth the node's own user may not write its Node spec (crds/api/roles.ts): then an
 * admin registers it, and the refusal says how.
 */
export async function ensureNode(store: Store, o: RegisterOptions, log: Logger): Promise<'created' | 'exists'> {
  if (await store.get({ kind: 'Node', name: o.node })) return 'exists';
  const node: Node = {
    apiVersion: API_VERSION,
    kind: 'Node',
    metadata: { name: o.node, ...(o.labels && Object.keys(o.labels).length ? { labels: o.labels } : {}) },
    spec: { address: o.address, sshPort: o.sshPort ?? 22 },
  };
  try {
    await store.create(node);
    log.info({ node: o.node, address: o.address }, 'registered the node');
    return 'created';
  } catch (err) {
    if (err instanceof AlreadyExistsError) return 'exists';
    if (err instanceof ForbiddenError)
      throw new ForbiddenError(`Node ${o.node} is not registered, and this node's etcd user may not write Node specs (labels and addresses are the admin's): an admin runs \`kiwictl add-node ${o.node} --host ${o.address}\`; the daemon waits for it`);
    throw err;
  }
}

/**
 * Writes the owned status fields: read the status, merge, write if nobody wrote since;
 * on a lost compare-and-swap read again. Returns the status written (or found unchanged).
 */
export async function writeOwnedStatus(store: Store, node: string, want: OwnedStatus, now: () => number, opts: { force?: boolean } = {}): Promise<NodeStatus | undefined> {
  const r = await guaranteedUpdateStatus(store, { kind: 'Node', name: node }, (cur) => {
    const next = mergeStatus(cur, want, now());
    if (!opts.force && cur && isDeepStrictEqual(withoutHeartbeat(next), withoutHeartbeat(cur))) return undefined;
    return next;
  });
  return r?.status;
}

function withoutHeartbeat(s: NodeStatus): NodeStatus {
  const { heartbeatTime: _h, ...rest } = s;
  return rest;
}

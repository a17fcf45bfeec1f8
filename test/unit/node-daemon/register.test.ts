// Registration under NodeRestriction (crds/api/roles.ts): a node's etcd user may not write Node
// specs, so a daemon whose Node an admin has not registered says who must do what.
import assert from 'node:assert/strict';
import { ForbiddenError, logger, type Store } from '../../../crds/api/index.js';
import { ensureNode } from '../../../node-daemon/src/register/node.js';

describe('node daemon: registration when its etcd user may not write its Node spec', () => {
  const log = logger('test', 'silent');
  it('an unregistered Node: the refusal names the admin\'s command', async () => {
    const store = { get: async () => undefined, create: async () => { throw new ForbiddenError('create Node n7: permission denied by etcd'); } } as unknown as Store;
    await assert.rejects(ensureNode(store, { node: 'n7', address: '10.0.0.7' }, log), (e: Error) => e instanceof ForbiddenError && /Node n7 is not registered.*an admin runs `kiwictl add-node n7 --host 10\.0\.0\.7`/.test(e.message));
  });
  it('a registered Node is left alone (nothing written)', async () => {
    let wrote = false;
    const store = { get: async () => ({ metadata: { name: 'n7' } }), create: async () => { wrote = true; } } as unknown as Store;
    assert.equal(await ensureNode(store, { node: 'n7', address: 'x' }, log), 'exists');
    assert.equal(wrote, false);
  });
});

// The Watch messages of kiwictl's small gRPC client (kiwictl/src/client/wire.ts), checked against
// protobufjs reading etcd's own rpc.proto (as shipped with etcd3): what we send is the
// WatchCreateRequest etcd expects, and what etcd sends back decodes to the same events.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { decodeWatchResponse, encodeWatchCreate, FrameReader } from '../../../kiwictl/src/client/wire.js';

const require = createRequire(import.meta.url);
const root = protobuf.loadSync(join(dirname(require.resolve('etcd3/package.json')), 'proto', 'rpc.proto'));
const WatchRequest = root.lookupType('etcdserverpb.WatchRequest');
const WatchResponse = root.lookupType('etcdserverpb.WatchResponse');
const plain = (m: protobuf.Message, t: protobuf.Type) => t.toObject(m, { longs: String, bytes: String, defaults: false }) as any;
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kiwictl wire.ts: Watch messages', () => {
  it('a WatchCreateRequest for one key from a revision decodes in etcd\'s schema to that key and revision', () => {
    const key = '/kiwi/spec/booking/alice/bk-x7k2q';
    const m = plain(WatchRequest.decode(encodeWatchCreate({ key: Buffer.from(key), startRevision: 12_345 })), WatchRequest);
    assert.deepEqual(m, { createRequest: { key: b64(key), startRevision: '12345' } });
  });

  it('a prefix watch carries range_end; a revision past 2^32 keeps every bit; no revision means "now"', () => {
    const m = plain(WatchRequest.decode(encodeWatchCreate({ key: Buffer.from('/kiwi/spec/'), rangeEnd: Buffer.from('/kiwi/spec0'), startRevision: 2 ** 40 + 3 })), WatchRequest);
    assert.deepEqual(m, { createRequest: { key: b64('/kiwi/spec/'), rangeEnd: b64('/kiwi/spec0'), startRevision: String(2 ** 40 + 3) } });
    const now = plain(WatchRequest.decode(encodeWatchCreate({ key: Buffer.from('k') })), WatchRequest);
    assert.deepEqual(now, { createRequest: { key: b64('k') } });
  });

  it('decodes a WatchResponse with PUT and DELETE events: keys, values, revisions, versions', () => {
    const buf = Buffer.from(
      WatchResponse.encode(
        WatchResponse.fromObject({
          header: { clusterId: '1', memberId: '2', revision: '90000000001', raftTerm: '3' },
          watchId: '1',
          events: [
            { type: 0, kv: { key: Buffer.from('/kiwi/status/booking/alice/b'), value: Buffer.from('{"phase":"Active","observedGeneration":1}'), createRevision: '7', modRevision: '90000000001', version: '2', lease: '0' } },
            { type: 1, kv: { key: Buffer.from('/kiwi/spec/booking/alice/b'), modRevision: '90000000001' } },
          ],
        }),
      ).finish(),
    );
    assert.deepEqual(decodeWatchResponse(buf), {
      revision: 90000000001,
      watchId: 1,
      created: false,
      canceled: false,
      compactRevision: 0,
      cancelReason: '',
      events: [
        { type: 'PUT', kv: { key: '/kiwi/status/booking/alice/b', value: '{"phase":"Active","observedGeneration":1}', createRevision: 7, modRevision: 90000000001, version: 2 } },
        { type: 'DELETE', kv: { key: '/kiwi/spec/booking/alice/b', value: '', createRevision: 0, modRevision: 90000000001, version: 0 } },
      ],
    });
  });

  it('decodes the created answer, and a cancel for a compacted revision with its reason', () => {
    const created = decodeWatchResponse(Buffer.from(WatchResponse.encode(WatchResponse.fromObject({ header: { revision: '5' }, watchId: '0', created: true })).finish()));
    assert.equal(created.created, true);
    assert.equal(created.revision, 5);
    assert.deepEqual(created.events, []);
    const c = decodeWatchResponse(Buffer.from(WatchResponse.encode(WatchResponse.fromObject({ header: { revision: '50' }, watchId: '3', canceled: true, compactRevision: '40', cancelReason: 'mvcc: required revision has been compacted' })).finish()));
    assert.deepEqual([c.watchId, c.canceled, c.compactRevision, c.cancelReason], [3, true, 40, 'mvcc: required revision has been compacted']);
  });

  it('FrameReader splits a byte stream into gRPC messages, whatever the chunking; refuses compressed ones', () => {
    const msgs = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 7)];
    const stream = Buffer.concat(msgs.map((m) => Buffer.concat([Buffer.from([0, ...[24, 16, 8, 0].map((s) => (m.length >>> s) & 255)]), m])));
    for (const size of [1, 3, 5, 4096, stream.length]) {
      const r = new FrameReader();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...r.push(stream.subarray(i, i + size)));
      assert.deepEqual(out.map((b) => b.length), [1, 0, 70_000], `chunks of ${size}`);
      assert.ok(out[2].every((x) => x === 7));
    }
    assert.throws(() => new FrameReader().push(Buffer.from([1, 0, 0, 0, 1, 9])), /compressed/);
  });
});

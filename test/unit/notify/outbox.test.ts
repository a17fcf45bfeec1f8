// The delivery loop with a fake sink call and a fake store: per-sink queues (a hung sink holds up
// nobody else), retries with backoff up to the sink's attempts, no retry of a refusal, the outbox
// key deleted only after the sink took it (or it was given up on).
import { strict as assert } from 'node:assert';
import type { Store } from '../../../crds/api/index.js';
import { Dispatcher, type OutboxEntry } from '../../../operator/src/notify/outbox.js';
import { PermanentError } from '../../../operator/src/notify/sinks.js';
import type { SinkSpec } from '../../../operator/src/notify/wire.js';
import type { NotifyEvent } from '../../../operator/src/notify/events.js';
import { waitFor } from '../../helpers/wait.js';

const noLog = { info() {}, warn() {}, error() {}, debug() {} } as any;

function fakeStore() {
  const deleted: string[] = [];
  const events: string[] = [];
  const store = {
    txn: async (_what: string, _cmp: unknown[], ops: any[]) => {
      for (const o of ops) if (o.request_delete_range) deleted.push(o.request_delete_range.key.toString());
      return { succeeded: true, responses: [] };
    },
    recordEvent: async (e: { reason: string; message: string }) => void events.push(`${e.reason}: ${e.message}`),
    rawRange: async () => ({ kvs: [], revision: 1 }),
  } as unknown as Store;
  return { store, deleted, events };
}
const ev = (id: string): NotifyEvent => ({ id, type: 'Started', time: '2026-12-01T12:00:00Z', user: 'alice', booking: 'alice/b1', uid: '1-x' });
const entry = (sink: string, id: string): OutboxEntry => ({ key: `/kiwi/notify/outbox/${sink}/${id}`, sink, event: ev(id), queued: '2026-12-01T12:00:00Z' });

describe('notify: the delivery loop (operator/src/notify/outbox.ts)', () => {
  let d: Dispatcher | undefined;
  afterEach(async () => d?.stop());

  it('a sink that never answers holds up only itself: another sink\'s notifications go through meanwhile', async () => {
    const f = fakeStore();
    const sent: string[] = [];
    const sinks: SinkSpec[] = [{ name: 'dead', webhook: { url: 'http://127.0.0.1:1/', secretFile: '/x' } }, { name: 'ok', webhook: { url: 'http://127.0.0.1:2/', secretFile: '/x' } }];
    d = new Dispatcher({
      store: f.store, log: noLog, clock: { now: Date.now }, sinks: () => sinks, backoffMs: 1,
      send: (s, e, _now, signal) => (s.name === 'dead' ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) : (sent.push(e.id), Promise.resolve())),
    });
    for (let i = 0; i < 10; i++) d.enqueue(entry('dead', `d${i}`));
    for (let i = 0; i < 10; i++) d.enqueue(entry('ok', `o${i}`));
    await waitFor(() => sent.length === 10, { what: 'the live sink\'s ten' });
    assert.deepEqual(f.deleted.sort(), Array.from({ length: 10 }, (_, i) => `/kiwi/notify/outbox/ok/o${i}`).sort());
    assert.equal(d.size, 10, 'the dead sink\'s stay queued (in flight or waiting), and in the outbox');
  });

  it('retries with backoff up to the sink\'s maxAttempts, then gives up: the key goes, a Warning event names the sink', async () => {
    const f = fakeStore();
    let calls = 0;
    d = new Dispatcher({ store: f.store, log: noLog, clock: { now: Date.now }, sinks: () => [{ name: 'flaky', webhook: { url: 'http://x/', secretFile: '/x' }, maxAttempts: 3 }], backoffMs: 1, send: async () => void (calls++, (() => { throw new Error('503'); })()) });
    d.enqueue(entry('flaky', 'a'));
    await waitFor(() => f.events.length === 1, { what: 'the give-up' });
    assert.equal(calls, 3);
    assert.deepEqual(f.deleted, ['/kiwi/notify/outbox/flaky/a']);
    assert.match(f.events[0], /^NotificationFailed: Started to sink flaky: 503 \(after 3 attempts\)$/);
  });

  it('succeeds on a later attempt: delivered once, no Warning', async () => {
    const f = fakeStore();
    let calls = 0;
    d = new Dispatcher({ store: f.store, log: noLog, clock: { now: Date.now }, sinks: () => [{ name: 's', webhook: { url: 'http://x/', secretFile: '/x' } }], backoffMs: 1, send: async () => { if (++calls < 3) throw new Error('503'); } });
    d.enqueue(entry('s', 'a'));
    await waitFor(() => f.deleted.length === 1, { what: 'delivery' });
    assert.equal(calls, 3);
    assert.deepEqual(f.events, []);
  });

  it('a refusal (4xx) is not retried; a sink the ClusterConfig dropped fails at once', async () => {
    const f = fakeStore();
    let calls = 0;
    d = new Dispatcher({ store: f.store, log: noLog, clock: { now: Date.now }, sinks: () => [{ name: 's', webhook: { url: 'http://x/', secretFile: '/x' }, maxAttempts: 5 }], backoffMs: 1, send: async () => void (calls++, (() => { throw new PermanentError('answered 404'); })()) });
    d.enqueue(entry('s', 'a'));
    d.enqueue(entry('gone', 'b'));
    await waitFor(() => f.events.length === 2, { what: 'two failures' });
    assert.equal(calls, 1);
    assert.deepEqual(f.events.sort(), ['NotificationFailed: Started to sink gone: the ClusterConfig has no sink "gone" any more', 'NotificationFailed: Started to sink s: answered 404 (after 1 attempt)']);
  });

  it('the same outbox key queued twice is delivered once at a time', async () => {
    const f = fakeStore();
    const sent: string[] = [];
    d = new Dispatcher({ store: f.store, log: noLog, clock: { now: Date.now }, sinks: () => [{ name: 's', webhook: { url: 'http://x/', secretFile: '/x' } }], send: async (_s, e) => void sent.push(e.id) });
    d.enqueue(entry('s', 'a'));
    d.enqueue(entry('s', 'a'));
    await waitFor(() => f.deleted.length === 1, { what: 'delivery' });
    assert.deepEqual(sent, ['a']);
  });
});

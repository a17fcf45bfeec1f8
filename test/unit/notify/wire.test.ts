import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { mailFor, signature, webhookRequest } from '../../../operator/src/notify/wire.js';
import type { NotifyEvent } from '../../../operator/src/notify/events.js';

const e: NotifyEvent = { id: '7-ab.Ended', type: 'Ended', time: '2026-12-01T12:00:00Z', user: 'alice', booking: 'alice/b1', uid: '7-ab', phase: 'Expired', reason: 'TimeLimit', nodes: ['n1'], startTime: '2026-12-01T10:00:00Z', endTime: '2026-12-01T12:00:00Z' };

describe('notify: what goes over the wire (operator/src/notify/wire.ts)', () => {
  it('signs TIMESTAMP.BODY with HMAC-SHA256 and sends the key, the timestamp and the signature as headers', () => {
    const r = webhookRequest(e, 's3cret', Date.parse('2026-12-01T12:00:05Z'));
    assert.equal(r.headers['x-kiwi-timestamp'], String(Date.parse('2026-12-01T12:00:05Z') / 1000));
    assert.equal(r.headers['idempotency-key'], '7-ab.Ended');
    const want = 'sha256=' + createHmac('sha256', 's3cret').update(`${r.headers['x-kiwi-timestamp']}.${r.body}`).digest('hex');
    assert.equal(r.headers['x-kiwi-signature'], want);
    assert.notEqual(signature('s3cret', '1', r.body), want, 'another timestamp, another signature');
    const body = JSON.parse(r.body);
    assert.deepEqual([body.kind, body.id, body.type, body.reason, body.summary], ['Notification', '7-ab.Ended', 'Ended', 'TimeLimit', 'booking alice/b1 ended (TimeLimit)']);
  });
  it('mails the booking\'s user at the sink\'s domain, or the local user without one; Message-ID from the key', () => {
    const m = mailFor(e, { name: 'm', smtp: { host: '127.0.0.1', from: 'kiwi@x', domain: 'lab.example' } });
    assert.deepEqual([m.to, m.envelope, m.messageId, m.subject], ['alice@lab.example', { from: 'kiwi@x', to: ['alice@lab.example'] }, '<7-ab.Ended@kiwi.dev>', '[kiwi] booking alice/b1 ended (TimeLimit)']);
    assert.match(m.text, /kiwictl describe booking b1 -n alice/);
    assert.equal(mailFor(e, { name: 'l', sendmail: { from: 'kiwi' } }).to, 'alice');
  });
});

// What goes over the wire, pure: the webhook's body and signature, and the mail. The receiver
// checks X-Kiwi-Signature = "sha256=" + hex(HMAC-SHA256(secret, X-Kiwi-Timestamp + "." + body)):
// the timestamp is signed with the body, so a captured request cannot be replayed later under a
// fresh timestamp; the idempotency key is in the body (signed) and in Idempotency-Key.
import { createHmac } from 'node:crypto';
import type { ClusterConfig } from '../../../crds/api/index.js';
import { subject, type NotifyEvent } from './events.js';

export type SinkSpec = NonNullable<NonNullable<NonNullable<ClusterConfig['spec']>['notifications']>['sinks']>[number];

export const SIGNATURE_HEADER = 'x-kiwi-signature';
export const TIMESTAMP_HEADER = 'x-kiwi-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export function signature(secret: string | Buffer, timestamp: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The webhook request for one event at `now` (ms). */
export function webhookRequest(e: NotifyEvent, secret: string | Buffer, now: number): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Notification', ...e, summary: subject(e) });
  const timestamp = String(Math.floor(now / 1000));
  return {
    body,
    headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature(secret, timestamp, body), [IDEMPOTENCY_HEADER]: e.id, 'user-agent': 'kiwi-operator' },
  };
}

/** The mail for one event: to the booking's user (the namespace of its key), never an address from a value. */
export function mailFor(e: NotifyEvent, sink: SinkSpec): { from: string; to: string; subject: string; text: string; messageId: string; headers: Record<string, string>; envelope: { from: string; to: string[] } } {
  const m = (sink.smtp ?? sink.sendmail)!;
  const to = m.domain ? `${e.user}@${m.domain}` : e.user;
  const lines = [
    subject(e) + '.',
    '',
    `booking:  ${e.booking}`,
    ...(e.phase ? [`phase:    ${e.phase}${e.reason ? ` (${e.reason})` : ''}`] : []),
    ...(e.nodes ? [`nodes:    ${e.nodes.join(', ')}`] : []),
    ...(e.startTime ? [`start:    ${e.startTime}`] : []),
    ...(e.endTime ? [`end:      ${e.endTime}`] : []),
    ...(e.message ? ['', e.message] : []),
    '',
    `kiwictl describe booking ${e.booking.split('/')[1]} -n ${e.user}`,
  ];
  // A Message-ID made of the idempotency key: a mail store that sees it twice can drop the second.
  // The envelope named outright: a bare local user (sendmail without a domain) is no address to a parser.
  return { envelope: { from: m.from, to: [to] }, from: m.from, to, subject: `[kiwi] ${subject(e)}`, text: lines.join('\n') + '\n', messageId: `<${e.id}@kiwi.dev>`, headers: { 'Idempotency-Key': e.id } };
}

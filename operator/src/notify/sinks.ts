// Sending one notification to one sink: the only I/O of delivery (a POST, an SMTP session, a
// sendmail process). Throws on failure; a PermanentError is not worth retrying (a 4xx answer).
import { readFile } from 'node:fs/promises';
import type { NotifyEvent } from './events.js';
import { mailFor, webhookRequest, type SinkSpec } from './wire.js';

export class PermanentError extends Error {}

export async function send(sink: SinkSpec, e: NotifyEvent, now: number, signal: AbortSignal): Promise<void> {
  const timeoutMs = (sink.timeoutSeconds ?? 10) * 1000;
  if (sink.webhook) {
    // Read per delivery, so that a rotated secret takes effect without a restart.
    const secret = (await readFile(sink.webhook.secretFile)).toString().trim();
    const req = webhookRequest(e, secret, now);
    // An AbortController and a timer of our own: a signal from AbortSignal.any/timeout that nothing
    // references can be garbage-collected before it fires, and the request then hangs for ever.
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => ac.abort(new Error(`no answer from ${sink.webhook!.url} within ${timeoutMs} ms`)), timeoutMs);
    let res: Response;
    try {
      res = await fetch(sink.webhook.url, { method: 'POST', headers: req.headers, body: req.body, signal: ac.signal, redirect: 'error' });
      await res.arrayBuffer().catch(() => undefined);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    if (res.ok) return;
    const why = `${sink.webhook.url} answered ${res.status} ${res.statusText}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new PermanentError(why);
    throw new Error(why);
  }
  const mail = mailFor(e, sink);
  // Loaded with the first mail: its ~650 KB of source were parsed at every operator start,
  // mail sink or not (part of a new leader's cold start; bench/results/profiles.md).
  const { default: nodemailer } = await import('nodemailer');
  const transport = sink.smtp
    ? nodemailer.createTransport({ host: sink.smtp.host, port: sink.smtp.port ?? 25, secure: false, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs })
    : nodemailer.createTransport({ sendmail: true, path: sink.sendmail!.path ?? '/usr/sbin/sendmail', newline: 'unix' });
  const abort = () => transport.close();
  signal.addEventListener('abort', abort, { once: true });
  try {
    await Promise.race([
      transport.sendMail(mail),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer from the mail sink within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  } finally {
    signal.removeEventListener('abort', abort);
    transport.close();
  }
}

// Small HTTP helpers: JSON in (with a size limit) and out, cookies. Node's http only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, statusOf } from './status.js';

/** A booking is at most 256 KiB (crds/api/validate.ts); a body larger than this is refused unread. */
export const MAX_BODY = 512 * 1024;

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
  // JSON only: a cross-site form can send text/plain or form data without a preflight, never JSON
  if (!/^application\/([a-z-]+\+)?json$/.test(type))
    throw new HttpError(415, 'UnsupportedMediaType', `send JSON (Content-Type: application/json), not ${type || 'a body without Content-Type'}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'RequestEntityTooLarge', `the request body is larger than ${MAX_BODY / 1024} KiB`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw new HttpError(400, 'BadRequest', 'the request has no body; send a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'BadRequest', `the body is not valid JSON: ${(e as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const st = statusOf(err);
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, st.code, st);
}

export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

// Local notification sinks for tests, on 127.0.0.1: a webhook receiver that checks each
// request's HMAC itself (not with Kiwi's code) and records the idempotency keys, and a tiny SMTP
// server (RFC 5321's commands a client needs: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createTcp, type Server as TcpServer, type Socket } from 'node:net';

export interface WebhookHit {
  id: string;
  timestamp: string;
  signatureValid: boolean;
  status: number;
  body: any;
}

export interface WebhookReceiver {
  url: string;
  hits: WebhookHit[];
  /** Answer this status to the next `n` requests (e.g. 503 to make the operator retry). */
  failNext(n: number, status?: number): void;
  /** Accept connections but never answer (a hung sink). */
  hang(on: boolean): void;
  /** Requests received and left unanswered by hang(). */
  readonly hung: number;
  close(): Promise<void>;
}

export async function webhookReceiver(secret: string): Promise<WebhookReceiver> {
  const hits: WebhookHit[] = [];
  let failing = 0;
  let failStatus = 503;
  let hanging = false;
  let hung = 0;
  const server: Server = createHttp((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (hanging) return void hung++; // never answered
      const raw = Buffer.concat(chunks).toString();
      const ts = String(req.headers['x-kiwi-timestamp'] ?? '');
      const sig = String(req.headers['x-kiwi-signature'] ?? '');
      const want = 'sha256=' + createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex');
      const signatureValid = sig.length === want.length && timingSafeEqual(Buffer.from(sig), Buffer.from(want));
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      const status = !signatureValid ? 401 : failing > 0 ? (failing--, failStatus) : 200;
      hits.push({ id: String(req.headers['idempotency-key'] ?? ''), timestamp: ts, signatureValid, status, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    failNext: (n, status = 503) => ((failing = n), (failStatus = status)),
    hang: (on) => (hanging = on),
    get hung() {
      return hung;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

export interface Mail {
  from: string;
  to: string[];
  data: string;
}

export interface SmtpSink {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

export async function smtpSink(): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcp((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    let inData = false;
    let cur: Mail = { from: '', to: [], data: '' };
    const say = (s: string) => sock.write(s + '\r\n');
    say('220 127.0.0.1 kiwi test SMTP sink');
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          // undo dot-stuffing (RFC 5321 4.5.2)
          cur.data = buf.slice(0, end).split('\r\n').map((l) => (l.startsWith('..') ? l.slice(1) : l)).join('\r\n');
          buf = buf.slice(end + 5);
          inData = false;
          mails.push(cur);
          cur = { from: '', to: [], data: '' };
          say('250 queued');
          continue;
        }
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') say('250 127.0.0.1');
        else if (verb === 'MAIL') (cur.from = /<(.*)>/.exec(line)?.[1] ?? ''), say('250 ok');
        else if (verb === 'RCPT') cur.to.push(/<(.*)>/.exec(line)?.[1] ?? ''), say('250 ok');
        else if (verb === 'DATA') (inData = true), say('354 end with <CRLF>.<CRLF>');
        else if (verb === 'RSET') (cur = { from: '', to: [], data: '' }), say('250 ok');
        else if (verb === 'NOOP') say('250 ok');
        else if (verb === 'QUIT') say('221 bye'), sock.end();
        else say('502 not implemented');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    mails,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

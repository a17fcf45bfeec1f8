// The operability endpoints both long-running programs serve on --metrics-addr (KIWI_METRICS_ADDR):
//
//   GET /metrics   Prometheus text exposition of the program's prom-client registry
//   GET /healthz   200 "ok" while the process runs; 503 once shutdown has begun
//   GET /readyz    200 "ready" when the program says it is ready (and is not shutting down);
//                  503 "not ready: WHY" otherwise
//   anything else  404 (405 for a method other than GET/HEAD on the three paths)
//
// The address is HOST:PORT ([v6]:PORT) or a bare PORT, which means 127.0.0.1:PORT: listening on
// every interface must be asked for (0.0.0.0:9464). "" or "none" disables the endpoints.
// Kept apart from crds/api/index.ts so that kiwictl never loads prom-client.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './log.js';

export interface ListenAddr {
  host: string;
  port: number;
}

/** Parses a --metrics-addr value; undefined means disabled ("" or "none"). Throws on nonsense. */
export function parseListenAddr(value: string | undefined): ListenAddr | undefined {
  const v = (value ?? '').trim();
  if (v === '' || v.toLowerCase() === 'none') return undefined;
  const bad = (why: string) => new Error(`metrics address "${value}": ${why}; expected HOST:PORT, a bare PORT (127.0.0.1:PORT) or "none"`);
  let host = '127.0.0.1';
  let port = v;
  if (!/^\d+$/.test(v)) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d+)$/.exec(v);
    if (!m) throw bad('cannot read it');
    host = m[1] ?? m[2];
    if (!host) throw bad('no host (say 0.0.0.0:PORT to listen on every interface)');
    port = m[3];
  }
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad(`port ${port} is out of range`);
  return { host, port: n };
}

export interface Readiness {
  ready: boolean;
  /** Why not (or a short summary when ready). */
  detail?: string;
}

export interface ObserveServerOptions {
  addr: ListenAddr;
  registry: Registry;
  /** Asked on every GET /readyz. */
  readiness: () => Readiness;
  log?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
}

export interface ObserveServer {
  /** The address actually bound (port 0 resolved). */
  host: string;
  port: number;
  /** From now on /healthz and /readyz answer 503: the process is going away. */
  beginShutdown(): void;
  readonly shuttingDown: boolean;
  /** Stops listening and drops open connections (scrapers keep theirs alive). */
  close(): Promise<void>;
}

/** Serves /metrics, /healthz and /readyz; resolves once listening, rejects if it cannot bind. */
export async function startObserveServer(o: ObserveServerOptions): Promise<ObserveServer> {
  let shuttingDown = false;
  const reply = (res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return reply(res, 404, 'not found: try /metrics, /healthz or /readyz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    if (path === '/healthz') return shuttingDown ? reply(res, 503, 'shutting down\n') : reply(res, 200, 'ok\n');
    if (path === '/readyz') {
      if (shuttingDown) return reply(res, 503, 'not ready: shutting down\n');
      let r: Readiness;
      try {
        r = o.readiness();
      } catch (err) {
        o.log?.error({ err, path }, 'readiness check failed');
        r = { ready: false, detail: 'readiness check failed' };
      }
      return r.ready ? reply(res, 200, `ready${r.detail ? `: ${r.detail}` : ''}\n`) : reply(res, 503, `not ready: ${r.detail ?? 'starting'}\n`);
    }
    const text = await o.registry.metrics();
    reply(res, 200, text, o.registry.contentType);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      o.log?.error({ err, url: req.url }, 'metrics endpoint failed');
      if (!res.headersSent) reply(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.addr.port, o.addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => o.log?.error({ err, addr: o.addr }, 'metrics server error'));
  const bound = server.address() as AddressInfo;
  o.log?.info({ host: bound.address, port: bound.port }, 'serving /metrics, /healthz and /readyz');
  let closing: Promise<void> | undefined;
  return {
    host: bound.address,
    port: bound.port,
    beginShutdown: () => {
      shuttingDown = true;
    },
    get shuttingDown() {
      return shuttingDown;
    },
    close: () => {
      shuttingDown = true;
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

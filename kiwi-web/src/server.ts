// kiwi-web's HTTP server: the page (static files built by esbuild), login and session
// (/web/...), the API (api.ts), the OpenAPI document, health. Routing only; each part is its
// own module.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { checkCsrf, checkOrigin, clearCookie, sessionCookie, type LoginMode } from './auth.js';
import { clusterConfig, handleApi, type ApiDeps } from './api.js';
import { HttpError } from './status.js';
import { readJson, sendError, sendJson } from './http.js';
import { openApi } from './openapi.js';

/** The API's (hub, sessions, store, log, anonymousRead) and the page's. */
export interface ServerDeps extends ApiDeps {
  loginMode: LoginMode;
  loginNote: string;
  /** Where index.html, app.js and style.css are. */
  assets: string;
  /** Mark cookies Secure (behind an HTTPS proxy). */
  secureCookies: boolean;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.map': 'application/json' };
const STATIC = new Map([['/', 'index.html'], ['/index.html', 'index.html'], ['/app.js', 'app.js'], ['/app.js.map', 'app.js.map'], ['/style.css', 'style.css']]);
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

export function createWebServer(d: ServerDeps): Server {
  const openapi = JSON.stringify(openApi());
  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    route(d, req, res, openapi).catch((err) => {
      if (!(err instanceof HttpError) && !(err as { exitCode?: number }).exitCode) d.log.error({ err, url: req.url, method: req.method }, 'request failed');
      sendError(res, err);
    });
  });
  // A watch stays open for hours: no request timeout; keep-alive sockets otherwise close.
  server.requestTimeout = 0;
  server.headersTimeout = 10_000;
  return server;
}

async function route(d: ServerDeps, req: IncomingMessage, res: ServerResponse, openapi: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://kiwi-web');
  const p = url.pathname;
  const method = req.method ?? 'GET';
  if (await handleApi(d, req, res, url)) return;
  if (p === '/healthz') return void res.end('ok');
  if (p === '/favicon.ico') return void res.writeHead(204).end();
  if (p === '/readyz') return d.hub.ready ? void res.end('ready') : void res.writeHead(503).end('not ready: the first list from etcd has not finished');
  if (p === '/openapi/v3' || p === '/openapi/v3/apis/kiwi.dev/v1alpha1' || p === '/openapi.json') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    return void res.end(openapi);
  }
  if (p === '/web/session' && method === 'GET') {
    const s = d.sessions.of(req);
    const c = await clusterConfig(d.store);
    return sendJson(res, 200, {
      user: s?.user, csrf: s?.via === 'cookie' ? s.csrf : undefined, loginMode: d.loginMode, note: d.loginNote,
      anonymousRead: d.anonymousRead, defaultDuration: c.defaultDuration, maxDuration: c.maxDuration,
    });
  }
  if (p === '/web/login' && method === 'POST') {
    checkOrigin(req);
    const body = (await readJson(req)) as { user?: unknown; password?: unknown; token?: unknown };
    const asToken = body?.token === true;
    const s = await d.sessions.login(body?.user, body?.password, asToken ? 'token' : 'cookie');
    d.log.info({ user: s.user, via: s.via, mode: d.loginMode }, 'logged in');
    if (asToken) return sendJson(res, 200, { user: s.user, token: s.id });
    return sendJson(res, 200, { user: s.user, csrf: s.csrf }, { 'set-cookie': sessionCookie(s, d.secureCookies) });
  }
  if (p === '/web/logout' && method === 'POST') {
    const s = d.sessions.of(req);
    if (s) {
      if (s.via === 'cookie') checkCsrf(req, s.csrf);
      d.sessions.logout(s);
    }
    return sendJson(res, 200, { user: null }, { 'set-cookie': clearCookie(d.secureCookies) });
  }
  const file = STATIC.get(p);
  if (file && (method === 'GET' || method === 'HEAD')) {
    const body = await readFile(join(d.assets, file)).catch(() => undefined);
    if (!body) throw new HttpError(500, 'InternalError', `${file} is missing from ${d.assets}; run npm run build`);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    return void res.end(body);
  }
  throw new HttpError(404, 'NotFound', `no such path ${p}`);
}

export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

// The shared /metrics, /healthz, /readyz server (crds/api/observe.ts) and the address parser,
// against a real HTTP server on a free 127.0.0.1 port.
import { strict as assert } from 'node:assert';
import { Counter, Registry } from 'prom-client';
import { parseListenAddr, startObserveServer, type ObserveServer } from '../../../crds/api/observe.js';
import { freePort } from '../../helpers/ports.js';

describe('metrics address', () => {
  it('reads HOST:PORT, a bare PORT as 127.0.0.1:PORT, [v6]:PORT, and "" / none as off', () => {
    assert.deepEqual(parseListenAddr('9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseListenAddr('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(parseListenAddr('[::1]:9465'), { host: '::1', port: 9465 });
    assert.deepEqual(parseListenAddr('node1.lan:80'), { host: 'node1.lan', port: 80 });
    assert.equal(parseListenAddr(''), undefined);
    assert.equal(parseListenAddr('none'), undefined);
    assert.equal(parseListenAddr(undefined), undefined);
  });
  it('refuses nonsense, and an empty host (every interface must be asked for as 0.0.0.0)', () => {
    assert.throws(() => parseListenAddr(':9464'), /0\.0\.0\.0:PORT/);
    assert.throws(() => parseListenAddr('127.0.0.1:70000'), /out of range/);
    assert.throws(() => parseListenAddr('localhost'), /cannot read it/);
  });
});

describe('metrics server', () => {
  let srv: ObserveServer | undefined;
  let ready = false;
  let registry: Registry;
  let counter: Counter;
  let base: string;

  beforeEach(async () => {
    registry = new Registry();
    counter = new Counter({ name: 'kiwitest_things_total', help: 'things', registers: [registry] });
    ready = false;
    srv = await startObserveServer({ addr: { host: '127.0.0.1', port: await freePort() }, registry, readiness: () => (ready ? { ready: true, detail: 'leader' } : { ready: false, detail: 'cache not synced' }) });
    base = `http://127.0.0.1:${srv.port}`;
  });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('serves the registry as Prometheus text on /metrics, counts moving', async () => {
    let r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await r.text(), /^kiwitest_things_total 0$/m);
    counter.inc(3);
    r = await fetch(`${base}/metrics`);
    assert.match(await r.text(), /^kiwitest_things_total 3$/m);
  });

  it('answers 404 to anything else and 405 to other methods', async () => {
    assert.equal((await fetch(`${base}/`)).status, 404);
    assert.equal((await fetch(`${base}/metricsx`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/healthz?verbose=1`)).status, 200);
  });

  it('/readyz flips with readiness; /healthz and /readyz go 503 once shutdown begins', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    let r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /not ready: cache not synced/);
    ready = true;
    r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /ready: leader/);
    srv!.beginShutdown();
    assert.equal((await fetch(`${base}/healthz`)).status, 503);
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    assert.equal((await fetch(`${base}/metrics`)).status, 200, 'metrics stay scrapeable until closed');
    await srv!.close();
    await assert.rejects(fetch(`${base}/healthz`));
  });

  it('rejects when the address is taken', async () => {
    await assert.rejects(startObserveServer({ addr: { host: '127.0.0.1', port: srv!.port }, registry, readiness: () => ({ ready: true }) }), /EADDRINUSE/);
  });
});

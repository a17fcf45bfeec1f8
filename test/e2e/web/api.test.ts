// kiwi-web's HTTP API against a real cluster (etcd, operator, simulated node daemon): the paths,
// tokens, CSRF, validation with kiwictl's messages, the watch stream, the OpenAPI document, and
// 100 open pages held on the server's one watch.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { API, booking, kiwictl, startCluster, token, watchLines, type Cluster } from './harness.js';
import { startOperator } from '../../integration/operator/helpers.js';

const ALICE = 'kiwitest-alice';
const BOB = 'kiwitest-bob';

describe('kiwi-web HTTP API (real etcd, operator, simulated nodes)', function () {
  this.timeout(90_000);
  let c: Cluster;
  let url: string;
  before(async () => {
    c = await startCluster(4);
    url = c.web.url;
  });
  after(async () => {
    await c?.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('lists nodes and bookings at Kubernetes-style paths, and 404s with a Status', async () => {
    const nodes = (await (await fetch(`${url}${API}/nodes`)).json()) as any;
    assert.equal(nodes.kind, 'NodeList');
    assert.deepEqual(nodes.items.map((n: any) => n.metadata.name), ['n-0', 'n-1', 'n-2', 'n-3']);
    const one = (await (await fetch(`${url}${API}/nodes/n-2`)).json()) as any;
    assert.equal(one.status.phase, 'Ready');
    const r = await fetch(`${url}${API}/namespaces/${ALICE}/bookings/nope`);
    assert.equal(r.status, 404);
    const st = (await r.json()) as any;
    assert.equal(st.kind, 'Status');
    assert.equal(st.reason, 'NotFound');
    assert.match(st.message, /Booking kiwitest-alice\/nope not found/);
  });

  it('writes nothing without a login, or with a bad token', async () => {
    const r1 = await post(`${API}/namespaces/${ALICE}/bookings`, booking(ALICE, { nodes: ['n-0'] }));
    assert.equal(r1.status, 401);
    assert.match(((await r1.json()) as any).message, /log in first/);
    const r2 = await post(`${API}/namespaces/${ALICE}/bookings`, booking(ALICE, { nodes: ['n-0'] }), { authorization: 'Bearer not-a-token' });
    assert.equal(r2.status, 401);
    assert.equal((await c.etcd.store().list('Booking')).length, 0);
  });

  const SOURCE = 'kiwi.dev/dry-run-source';

  it('books with a bearer token, asks the operator first with dryRun, and refuses another user\'s namespace', async () => {
    const t = await token(url, ALICE);
    const auth = { authorization: `Bearer ${t}` };
    const dry = await post(`${API}/namespaces/${ALICE}/bookings?dryRun=All`, booking(ALICE, { nodes: ['n-0'], duration: '10m' }), auth);
    assert.equal(dry.status, 200);
    const pv = (await dry.json()) as any;
    assert.equal(pv.metadata.annotations[SOURCE], 'operator', 'the leading operator answered');
    assert.deepEqual(pv.status.nodes, ['n-0']);
    assert.ok(Math.abs(Date.parse(pv.status.startTime) - Date.now()) < 10_000, `it would start now, not at ${pv.status.startTime}`);
    assert.equal((await c.etcd.store().list('Booking')).length, 0, 'a dry run writes nothing');
    assert.deepEqual((await c.etcd.client().getAll().prefix('/kiwi/dryrun/').keys()), [], 'and leaves nothing behind (its lease is revoked)');
    const r = await post(`${API}/namespaces/${ALICE}/bookings`, booking(ALICE, { nodes: ['n-0'], duration: '10m' }, 'a1'), auth);
    assert.equal(r.status, 201);
    await waitFor(async () => ((await (await fetch(`${url}${API}/namespaces/${ALICE}/bookings/a1`)).json()) as any).status?.phase === 'Active', { what: 'a1 Active' });
    // the next one on the same node is planned after a1, naming it
    const next = (await (await post(`${API}/namespaces/${ALICE}/bookings?dryRun=All`, booking(ALICE, { nodes: ['n-0'], duration: '5m' }), auth)).json()) as any;
    assert.equal(next.metadata.annotations[SOURCE], 'operator');
    assert.equal(next.status.reason, 'Queued');
    assert.match(next.status.message, /after kiwitest-alice\/a1/);
    assert.equal(next.status.waitingFor[0].booking, `${ALICE}/a1`);
    const a1 = (await (await fetch(`${url}${API}/namespaces/${ALICE}/bookings/a1`)).json()) as any;
    assert.equal(next.status.startTime, a1.status.endTime, 'planned to start when a1 ends');
    const bobs = await post(`${API}/namespaces/${BOB}/bookings`, booking(BOB, { nodes: ['n-1'] }), auth);
    assert.equal(bobs.status, 403);
    assert.match(((await bobs.json()) as any).message, /may write only their own bookings/);
  });

  it('dryRun plans what only the operator\'s planner knows: the nodes of a count booking', async () => {
    const auth = { authorization: `Bearer ${await token(url, ALICE)}` };
    // the forecast plans named nodes only; the planner picks two free ones (n-0 is a1's)
    const r = await post(`${API}/namespaces/${ALICE}/bookings?dryRun=All`, booking(ALICE, { count: 2, duration: '10m' }), auth);
    assert.equal(r.status, 200, await r.clone().text());
    const pv = (await r.json()) as any;
    assert.equal(pv.metadata.annotations[SOURCE], 'operator');
    assert.equal(pv.status.nodes.length, 2);
    assert.ok(!pv.status.nodes.includes('n-0'), `planned on ${pv.status.nodes}, but n-0 is held by a1`);
    assert.doesNotMatch(pv.status.message, /forecast/);
  });

  it('refuses invalid bookings with kiwictl\'s own messages, writing nothing', async () => {
    const t = await token(url, ALICE);
    const bad = booking(ALICE, { nodes: ['n-1'], duration: '10x', colour: 'red' }, 'bad1');
    const r = await post(`${API}/namespaces/${ALICE}/bookings`, bad, { authorization: `Bearer ${t}` });
    assert.equal(r.status, 422);
    const st = (await r.json()) as any;
    assert.equal(st.reason, 'Invalid');
    const dir = mkdtempSync(join(tmpdir(), 'kiwitest-web-'));
    try {
      const f = join(dir, 'bad.json');
      writeFileSync(f, JSON.stringify(bad));
      const cli = kiwictl(c.etcd.endpoint, ['apply', '-f', f]);
      assert.equal(cli.code, 2, cli.stderr);
      // the same problems, word for word, after each tool's name for the object
      const problems = (s: string) => [...s.matchAll(/(spec\.[a-z]+: [^;\n]+)/g)].map((m) => m[1]).sort();
      assert.deepEqual(problems(st.message), problems(cli.stderr));
      assert.equal(problems(st.message).length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(await c.etcd.store().get({ kind: 'Booking', namespace: ALICE, name: 'bad1' }), undefined);
  });

  it('needs the CSRF token and the same origin for cookie writes', async () => {
    const login = await post('/web/login', { user: ALICE });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const { csrf } = (await login.json()) as any;
    const jar = { cookie: cookie.split(';')[0] };
    const body = booking(ALICE, { nodes: ['n-2'], duration: '5m' });
    const noToken = await post(`${API}/namespaces/${ALICE}/bookings`, body, jar);
    assert.equal(noToken.status, 403);
    assert.match(((await noToken.json()) as any).message, /x-csrf-token/);
    const crossSite = await post(`${API}/namespaces/${ALICE}/bookings`, body, { ...jar, 'x-csrf-token': csrf, origin: 'http://evil.example' });
    assert.equal(crossSite.status, 403);
    assert.match(((await crossSite.json()) as any).message, /cross-site/);
    const form = await fetch(`${url}${API}/namespaces/${ALICE}/bookings`, { method: 'POST', headers: { ...jar, 'x-csrf-token': csrf, 'content-type': 'text/plain' }, body: JSON.stringify(body) });
    assert.equal(form.status, 415, 'a body a cross-site form could send is refused');
    const ok = await post(`${API}/namespaces/${ALICE}/bookings`, body, { ...jar, 'x-csrf-token': csrf, origin: url });
    assert.equal(ok.status, 201, await ok.clone().text());
  });

  it('extends, shortens and ends a booking with merge patches', async () => {
    const t = await token(url, ALICE);
    const auth = { authorization: `Bearer ${t}` };
    assert.equal((await post(`${API}/namespaces/${ALICE}/bookings`, booking(ALICE, { nodes: ['n-3'], duration: '20m' }, 'p1'), auth)).status, 201);
    const get = async () => (await (await fetch(`${url}${API}/namespaces/${ALICE}/bookings/p1`)).json()) as any;
    await waitFor(async () => (await get()).status?.phase === 'Active', { what: 'p1 Active' });
    const patch = (b: unknown) => fetch(`${url}${API}/namespaces/${ALICE}/bookings/p1`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json', ...auth }, body: JSON.stringify(b) });
    const start = Date.parse((await get()).status.startTime);
    assert.equal((await patch({ spec: { duration: 1800 } })).status, 200);
    await waitFor(async () => Date.parse((await get()).status.endTime) === start + 1800_000, { what: 'p1 extended to 30m' });
    const refused = await patch({ spec: { duration: 'soon' } });
    assert.equal(refused.status, 422);
    assert.match(((await refused.json()) as any).message, /spec\.duration/);
    // kiwictl extend's rules and words (crds/api/extend.ts): a length that ends it in the past
    await waitFor(() => Date.now() > start + 1500, { what: 'the booking more than a second old' });
    const past = await patch({ spec: { duration: 1 } });
    assert.equal(past.status, 422);
    assert.match(((await past.json()) as any).message, /^-t: the booking started at \S+; 1s would end it in the past; to end it now use kiwictl kill p1$/);
    assert.equal(Number((await get()).spec.duration), 1800, 'nothing written');
    assert.equal((await patch({ status: { phase: 'Active' } })).status, 422);
    assert.equal((await patch({ spec: { cancelled: true } })).status, 200);
    await waitFor(async () => (await get()).status?.reason === 'Cancelled', { what: 'p1 cancelled' });
    const again = await patch({ spec: { duration: 600 } });
    assert.equal(again.status, 409);
    assert.match(((await again.json()) as any).message, /already ended/);
  });

  it('streams a watch: the current objects, a bookmark, then changes', async () => {
    const { events, stop } = await watchLines(`${url}${API}/namespaces/${BOB}/bookings?watch=true`);
    await waitFor(() => events.some((e) => e.type === 'BOOKMARK'), { what: 'the initial bookmark' });
    assert.equal(events.filter((e) => e.type === 'ADDED').length, 0);
    const cli = kiwictl(c.etcd.endpoint, ['alloc', '-u', BOB, '--no-user-check', '-w', 'n-1', '-t', '10m', '--name', 'w1']);
    assert.equal(cli.code, 0, cli.stderr);
    await waitFor(() => events.some((e) => e.object.metadata.name === 'w1' && e.object.status?.phase === 'Active'), { what: 'w1 Active on the watch' });
    await stop();
  });

  it('serves an OpenAPI document generated from the CRDs', async () => {
    const doc = (await (await fetch(`${url}/openapi/v3`)).json()) as any;
    assert.equal(doc.openapi, '3.0.3');
    assert.ok(doc.paths[`${API}/namespaces/{namespace}/bookings`].post);
    assert.ok(doc.paths[`${API}/nodes`].get);
    assert.equal(doc.paths[`${API}/pools`].get.operationId, 'listPools');
    assert.equal(doc.paths[`${API}/pools/{name}`].get.operationId, 'readPool');
    assert.equal(doc.paths[`${API}/namespaces/{namespace}/bookingschedules/{name}`].get.operationId, 'readBookingSchedule');
    assert.ok(doc.components.schemas.BookingSchedule, 'the BookingSchedule schema, from its CRD');
    assert.equal(doc.components.schemas.Pool.properties.spec.properties.nodeSelector.type, 'string');
    assert.equal(doc.components.schemas.PoolList.properties.items.items.$ref, '#/components/schemas/Pool');
    const spec = doc.components.schemas.Booking.properties.spec;
    assert.equal(spec.properties.count.maximum, 1000);
    assert.ok(spec.properties.endSignal.properties.signal.enum.includes('SIGUSR1'));
  });

  it('holds 100 open pages on the one watch it has', async () => {
    const watchers = async () => {
      const text = await (await fetch(`${c.etcd.endpoint}/metrics`)).text();
      const get = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
      return { streams: get('etcd_debugging_mvcc_watch_stream_total'), watchers: get('etcd_debugging_mvcc_watcher_total') };
    };
    const before = await watchers();
    const acs = Array.from({ length: 100 }, () => new AbortController());
    const seen = new Array(100).fill(false);
    const streams = await Promise.all(acs.map(async (ac, i) => {
      const r = await fetch(`${url}${API}/bookings?watch=true`, { signal: ac.signal, headers: { accept: 'text/event-stream' } });
      assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = r.body!.getReader();
      // wrapped: an async function returning the pump's promise would wait for it to end
      return { done: (async () => {
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          buf += Buffer.from(value!).toString();
          if (buf.includes('"name":"many1"')) seen[i] = true;
        }
      })() };
    }));
    const during = await watchers();
    const cli = kiwictl(c.etcd.endpoint, ['alloc', '-u', BOB, '--no-user-check', '-w', 'n-2', '-t', '5m', '--name', 'many1']);
    assert.equal(cli.code, 0, cli.stderr);
    await waitFor(() => seen.every(Boolean), { what: 'the booking on all 100 streams' });
    console.log(`      etcd watch streams ${before.streams} -> ${during.streams}, watchers ${before.watchers} -> ${during.watchers} with 100 pages open`);
    assert.deepEqual(during, before, 'opening 100 pages opened no etcd watch');
    for (const ac of acs) ac.abort();
    await Promise.all(streams.map((s) => s.done));
  });

  it('dryRun refuses what only the planner checks (reservable windows), and forecasts, labelled, only when no operator answers', async () => {
    const auth = { authorization: `Bearer ${await token(url, ALICE)}` };
    const store = c.etcd.store();
    const n3 = await store.mustGet({ kind: 'Node', name: 'n-3' });
    await store.update({ ...n3, spec: { ...n3.spec, reservableWindows: [{ start: '00:00', end: '01:00' }] } });
    await waitFor(async () => (((await (await fetch(`${url}${API}/nodes/n-3`)).json()) as any).spec.reservableWindows ?? []).length === 1, { what: 'kiwi-web to see the window' });
    const ask = () => post(`${API}/namespaces/${ALICE}/bookings?dryRun=All`, booking(ALICE, { nodes: ['n-3'], duration: '2h' }), auth);
    const refused = await ask();
    assert.equal(refused.status, 409, await refused.clone().text());
    const st = (await refused.json()) as any;
    assert.equal(st.reason, 'Refused');
    assert.match(st.message, /would be refused \(Rejected\): .*node n-3 is bookable only within 00:00-01:00/);
    assert.doesNotMatch(st.message, /forecast/);
    // no operator: after the short bound the forecast answers, says it is one, and (knowing no
    // windows) would book it; the page shows that label
    await c.op.stop();
    try {
      const t0 = Date.now();
      const r = await ask();
      const took = Date.now() - t0;
      assert.equal(r.status, 200, await r.clone().text());
      const pv = (await r.json()) as any;
      assert.equal(pv.metadata.annotations[SOURCE], 'forecast');
      assert.match(pv.status.message, /\(a forecast from the planned slots: no kiwi-operator answered within 2 s\)$/);
      assert.ok(took >= 2000, `answered in ${took} ms, before the bound`);
      assert.deepEqual((await c.etcd.client().getAll().prefix('/kiwi/dryrun/').keys()), [], 'the unanswered request is gone too');
      assert.equal((await store.list('Booking', { namespace: ALICE })).filter((b) => b.spec.nodes?.includes('n-3') && b.spec.duration === 7200).length, 0);
    } finally {
      c.op = startOperator(c.etcd.endpoint, { id: 'web-test-2', leaseTtl: 1, logLevel: 'warn' });
      const cur = await store.mustGet({ kind: 'Node', name: 'n-3' });
      await store.update({ ...cur, spec: { ...cur.spec, reservableWindows: undefined } });
    }
  });

  it('serves BookingSchedules (the rule, its occurrences in its status) and the occurrences as Bookings labelled with it', async () => {
    const store = c.etcd.store();
    // daily, 3 h from now for 30 min, a horizon of 20 h: exactly one occurrence
    const first = Math.ceil((Date.now() + 3 * 3600_000) / 60_000) * 60_000;
    const rule = {
      apiVersion: 'kiwi.dev/v1alpha1' as const, kind: 'BookingSchedule' as const, metadata: { name: 'lab', namespace: ALICE },
      spec: { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const, at: new Date(first).toISOString().slice(11, 16), duration: '30m', timeZone: 'UTC', horizon: '20h', template: { nodes: ['n-3'] } },
    };
    await store.create(rule as any);
    const raw = c.etcd.client();
    // hostile bytes at schedule keys: not JSON, and an object claiming another namespace's rule
    await raw.put(`/kiwi/spec/bookingschedules/${ALICE}/junk`).value('{"not json');
    await raw.put(`/kiwi/spec/bookingschedules/${ALICE}/odd`).value(JSON.stringify({ ...rule, metadata: { name: 'lab', namespace: BOB } }));
    try {
      const one = `${url}${API}/namespaces/${ALICE}/bookingschedules/lab`;
      const got = await waitFor(async () => {
        const r = (await (await fetch(one)).json()) as any;
        return r.status?.occurrences?.length ? r : undefined;
      }, { timeoutMs: 20_000, what: 'the rule served with its occurrence in its status' });
      assert.equal(got.kind, 'BookingSchedule');
      const occ = got.status.occurrences[0].booking;
      const list = (await (await fetch(`${url}${API}/bookingschedules`)).json()) as any;
      assert.equal(list.kind, 'BookingScheduleList');
      assert.deepEqual(list.items.map((x: any) => `${x.metadata.namespace}/${x.metadata.name}`), [`${ALICE}/lab`], 'the hostile keys are left out');
      await waitFor(() => ['junk', 'odd'].every((k) => c.web.logs.some((l) => l.includes(`/kiwi/spec/bookingschedules/${ALICE}/${k}`) && l.includes('not served'))), { what: 'both bad schedule keys logged, with their keys' });
      const mine = (await (await fetch(`${url}${API}/namespaces/${ALICE}/bookings?labelSelector=${encodeURIComponent('kiwi.dev/schedule=lab')}`)).json()) as any;
      assert.deepEqual(mine.items.map((b: any) => b.metadata.name), [occ], 'the occurrence, found by its label');
      const missing = await fetch(`${url}${API}/namespaces/${BOB}/bookingschedules/lab`);
      assert.equal(missing.status, 404);
      // deleting the rule deletes its occurrence not yet begun, and the API follows
      await store.delete({ kind: 'BookingSchedule', namespace: ALICE, name: 'lab' });
      await waitFor(async () => (await fetch(`${url}${API}/namespaces/${ALICE}/bookings/${occ}`)).status === 404, { timeoutMs: 20_000, what: 'the occurrence gone with its rule' });
    } finally {
      await store.delete({ kind: 'BookingSchedule', namespace: ALICE, name: 'lab' }).catch(() => undefined);
      await raw.delete().prefix(`/kiwi/spec/bookingschedules/${ALICE}/`);
    }
  });

  // Last: with Pool objects the operator plans by them; this test removes what it made.
  it('serves Pools (list, one, watch), leaves out an invalid pool key, and writes none', async () => {
    const store = c.etcd.store();
    const raw = c.etcd.client();
    const pool = (name: string, nodeSelector: string) => ({ apiVersion: 'kiwi.dev/v1alpha1' as const, kind: 'Pool' as const, metadata: { name }, spec: { nodeSelector } });
    const { events, stop } = await watchLines(`${url}${API}/pools?watch=true`);
    try {
      await waitFor(() => events.some((e) => e.type === 'BOOKMARK'), { what: 'the initial bookmark of pools' });
      assert.equal(events.filter((e) => e.type === 'ADDED').length, 0, 'no pools yet');
      await store.create(pool('lab', 'rack=r1'));
      // hostile bytes at a pool's key: not JSON, and JSON of the wrong shape
      await raw.put('/kiwi/spec/pools/junk').value('{"not json');
      // an object claiming another name than its key's (to shadow lab)
      await raw.put('/kiwi/spec/pools/odd').value(JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'lab' }, spec: { nodeSelector: '' } }));
      // one that fits its key but not the schema (checked like the operator's cache does)
      await raw.put('/kiwi/spec/pools/seven').value(JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: 'seven' }, spec: { nodeSelector: 7 } }));
      await waitFor(() => events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'lab'), { what: 'lab ADDED on the watch' });
      await waitFor(() => ['junk', 'odd', 'seven'].every((k) => c.web.logs.some((l) => l.includes(`/kiwi/spec/pools/${k}`) && l.includes('not served'))), { what: 'the three bad keys logged, with their keys' });
      assert.ok(c.web.logs.some((l) => l.includes('/kiwi/spec/pools/seven') && /does not fit the schema: spec\.nodeSelector/.test(l)), 'the schema problem named');
      const list = (await (await fetch(`${url}${API}/pools`)).json()) as any;
      assert.equal(list.kind, 'PoolList');
      assert.deepEqual(list.items.map((p: any) => [p.metadata.name, p.spec.nodeSelector]), [['lab', 'rack=r1']], 'the invalid keys are left out');
      assert.equal(events.filter((e) => e.type === 'ADDED').length, 1, 'and never streamed');
      assert.equal(((await (await fetch(`${url}${API}/pools/lab`)).json()) as any).spec.nodeSelector, 'rack=r1');
      const missing = await fetch(`${url}${API}/pools/junk`);
      assert.equal(missing.status, 404);
      assert.equal((await fetch(`${url}${API}/pools/seven`)).status, 404, 'nodeSelector: 7 is not served');
      assert.match(((await missing.json()) as any).message, /Pool junk not found/);
      // a changed selector arrives as MODIFIED
      const cur = await store.mustGet({ kind: 'Pool', name: 'lab' });
      await store.update({ ...cur, spec: { ...cur.spec, nodeSelector: 'rack in (r1,r2)' } });
      await waitFor(() => events.some((e) => e.type === 'MODIFIED' && e.object.spec.nodeSelector === 'rack in (r1,r2)'), { what: 'the new selector on the watch' });
      // pools are an admin's to write, with kiwictl
      const auth = { authorization: `Bearer ${await token(url, ALICE)}` };
      const w = await post(`${API}/pools`, pool('mine', 'a=b'), auth);
      assert.equal(w.status, 405);
      assert.match(((await w.json()) as any).message, /only bookings are written through this server \(nodes and pools: kiwictl/);
      assert.equal(await store.get({ kind: 'Pool', name: 'mine' }), undefined);
      await store.delete({ kind: 'Pool', name: 'lab' });
      await waitFor(() => events.some((e) => e.type === 'DELETED' && e.object.metadata.name === 'lab'), { what: 'lab DELETED on the watch' });
    } finally {
      await stop();
      await raw.delete().prefix('/kiwi/spec/pools/');
    }
  });
});

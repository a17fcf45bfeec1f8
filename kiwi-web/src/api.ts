// The HTTP API, Kubernetes-style paths under /apis/kiwi.dev/v1alpha1, as the page and scripts
// use it. Reads come from the hub's cache (one watch for the server); writes go through the
// logged-in user's own store, so etcd authorizes them; validation is crds/api's, as in kiwictl.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { effectiveConfig, type EffectiveConfig } from '../../crds/api/config.js';
import { validateObject } from '../../crds/api/validate.js';
import { rfc3339 } from '../../crds/api/time.js';
import { matches, parseSelector } from '../../crds/api/selector.js';
import { randomName } from '../../crds/api/keys.js';
import { API_VERSION, type Booking, type ClusterConfig, type KiwiObject, type Node } from '../../crds/api/types.js';
import type { Store } from '../../crds/api/store.js';
import { ForbiddenError, NotFoundError, RefusedError, TimeoutError } from '../../crds/api/errors.js';
import { askDryRun } from '../../crds/api/dryrun.js';
import { planExtend, type ExtendChange } from '../../crds/api/extend.js';
import { parseDuration } from '../../crds/api/duration.js';
import type { Logger } from '../../crds/api/log.js';
import { WATCHED_KINDS, type Hub, type WatchedKind, type WatchEvent } from './hub.js';
import { kindInfo } from '../../crds/api/kinds.js';
import { isAdmin } from '../../crds/api/users.js';
import type { Session, Sessions } from './auth.js';
import { HttpError } from './status.js';
import { readJson, sendJson } from './http.js';
import { API_PREFIX } from './openapi.js';
import { previewBooking } from './preview.js';

export interface ApiDeps {
  hub: Hub;
  sessions: Sessions;
  /** The server's own store: reads the ClusterConfig. */
  store: Store;
  log: Logger;
  /** May a visitor who has not logged in read? */
  anonymousRead: boolean;
  /** How long a dry run waits for the leading operator before it answers with the forecast. */
  dryRunTimeoutMs?: number;
}

/** Short: the page asks on every change of the form; past this the forecast is the answer. */
export const DRY_RUN_TIMEOUT_MS = 2000;
/** On a dry run's answer: who answered, "operator" (its planner) or "forecast" (preview.ts). */
export const DRY_RUN_SOURCE = 'kiwi.dev/dry-run-source';

const HEARTBEAT_MS = 15_000;

/** The ClusterConfig in force (admins, durations): read through, it changes rarely. */
export async function clusterConfig(store: Store): Promise<EffectiveConfig> {
  return effectiveConfig(await store.get({ kind: 'ClusterConfig', name: 'default' }) as ClusterConfig | undefined);
}

/** The served kinds by their plural, the first segment of their paths. */
const SERVED = new Map<string, WatchedKind>(WATCHED_KINDS.map((k) => [kindInfo(k).plural, k]));

/** Handles a request under API_PREFIX; false when the path is not the API's. */
export async function handleApi(d: ApiDeps, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const p = url.pathname;
  if (!p.startsWith(API_PREFIX + '/') && p !== API_PREFIX) return false;
  const rest = p.slice(API_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  // Kubernetes' paths: PLURAL[/NAME] for a cluster-scoped kind; PLURAL (all namespaces) and
  // namespaces/NS/PLURAL[/NAME] for a namespaced one.
  let m: { kind: WatchedKind; namespace?: string; name?: string } | undefined;
  const top = SERVED.get(rest[0]);
  const inNs = rest[0] === 'namespaces' && rest.length >= 3 && rest.length <= 4 ? SERVED.get(rest[2]) : undefined;
  if (top && !kindInfo(top).namespaced && rest.length <= 2) m = { kind: top, name: rest[1] };
  else if (top && kindInfo(top).namespaced && rest.length === 1) m = { kind: top };
  else if (inNs && kindInfo(inNs).namespaced) m = { kind: inNs, namespace: rest[1], name: rest[3] };
  if (!m) throw new HttpError(404, 'NotFound', `no such path ${p}; see /openapi/v3 for the API`);
  if (method === 'GET' || method === 'HEAD') {
    if (!d.anonymousRead && !d.sessions.of(req)) throw new HttpError(401, 'Unauthorized', 'log in first: this server shows the calendar only to logged-in users');
    if (m.name) return sendJson(res, 200, mustGet(d.hub, m.kind, m.name, m.namespace)), true;
    const sel = url.searchParams.get('labelSelector');
    const reqs = sel ? parseSelector(sel) : undefined;
    const keep = (o: KiwiObject) => !reqs || matches(reqs, o.metadata.labels);
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return watch(d, req, res, m.kind, m.namespace, keep), true;
    const items = d.hub.list(m.kind, m.namespace).filter(keep);
    return sendJson(res, 200, { apiVersion: API_VERSION, kind: `${m.kind}List`, metadata: { resourceVersion: String(d.hub.revision()) }, items }), true;
  }
  if (m.kind !== 'Booking' || m.namespace === undefined) throw new HttpError(405, 'MethodNotAllowed', `${method} ${p}: only bookings are written through this server (nodes and pools: kiwictl, as an admin; booking schedules: kiwictl apply)`);
  const s = d.sessions.forWrite(req);
  await mayWriteFor(d, s, m.namespace);
  if (method === 'POST' && !m.name) return await create(d, s, req, res, m.namespace, url.searchParams.get('dryRun') === 'All'), true;
  if (method === 'PATCH' && m.name) return sendJson(res, 200, await patch(s, m.namespace, m.name, await readJson(req))), true;
  if (method === 'DELETE' && m.name) {
    await s.store.delete({ kind: 'Booking', namespace: m.namespace, name: m.name });
    return sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', message: `booking ${m.namespace}/${m.name} deleted`, code: 200 }), true;
  }
  throw new HttpError(405, 'MethodNotAllowed', `${method} ${p} is not supported: POST to .../bookings, PATCH or DELETE .../bookings/NAME`);
}

function mustGet(hub: Hub, kind: WatchedKind, name: string, namespace?: string): KiwiObject {
  const o = hub.get(kind, name, namespace);
  if (!o) throw new NotFoundError(`${kind} ${namespace ? `${namespace}/` : ''}${name} not found`);
  return o;
}

/** kiwictl's early refusal: one books for oneself, admins for anybody (etcd checks it again). */
async function mayWriteFor(d: ApiDeps, s: Session, namespace: string): Promise<void> {
  if (s.user === namespace) return;
  if (isAdmin(s.user, (await clusterConfig(d.store)).admins)) return;
  throw new HttpError(403, 'Forbidden', `${s.user} may write only their own bookings (namespace ${s.user}); bookings of ${namespace} are theirs or an admin's to change`);
}

async function create(d: ApiDeps, s: Session, req: IncomingMessage, res: ServerResponse, namespace: string, dryRun: boolean): Promise<void> {
  const body = await readJson(req);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'BadRequest', 'send one Booking object');
  const obj = structuredClone(body) as Record<string, any>;
  obj.metadata ??= {};
  if (typeof obj.metadata === 'object' && obj.metadata) {
    if (obj.metadata.namespace === undefined) obj.metadata.namespace = namespace;
    else if (obj.metadata.namespace !== namespace) throw new HttpError(400, 'BadRequest', `metadata.namespace "${obj.metadata.namespace}" does not match the path's namespace ${namespace}`);
    if (obj.metadata.name === undefined) obj.metadata.name = randomName();
    if (obj.spec && typeof obj.spec === 'object' && obj.spec.user === undefined) obj.spec.user = namespace;
  }
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '?';
  const b = validateObject(obj, `booking ${namespace}/${name}`) as Booking;
  if (b.kind !== 'Booking') throw new HttpError(400, 'BadRequest', `kind: this path takes a Booking, not a ${b.kind}`);
  if (b.spec.user !== namespace) throw new HttpError(422, 'Invalid', `booking ${namespace}/${name}: spec.user: "${b.spec.user}" must be the namespace's user ${namespace}`);
  if (dryRun) return sendJson(res, 200, await dryRunBooking(d, s, b));
  const created = await s.store.create(b);
  d.log.info({ booking: `${namespace}/${created.metadata.name}`, by: s.user }, 'booking created');
  sendJson(res, 201, created);
}

/**
 * dryRun=All: the leading operator's own answer (crds/api's server-side dry run: its planner,
 * windows, queue and count bookings included), asked as the logged-in user so that etcd decides
 * whether they may. Only when no operator answers within the bound (or etcd's roles do not let the
 * user ask) the forecast from the decided slots, labelled as one in the annotation and message.
 */
async function dryRunBooking(d: ApiDeps, s: Session, b: Booking): Promise<Booking> {
  const ref = `${b.metadata.namespace}/${b.metadata.name}`;
  const timeoutMs = d.dryRunTimeoutMs ?? DRY_RUN_TIMEOUT_MS;
  let why: string;
  try {
    const a = await askDryRun(s.store, b, timeoutMs);
    if (a.error) throw new HttpError(422, 'Invalid', `booking ${ref}: the operator refused the dry run: ${a.error}`);
    const st = a.status;
    if (st?.phase === 'Expired') throw new RefusedError(`booking ${ref} would be refused (${st.reason ?? 'Expired'}): ${st.message ?? 'no reason given'}`);
    return labelled({ ...b, ...(st ? { status: st } : {}) }, 'operator');
  } catch (err) {
    if (err instanceof TimeoutError) why = `no kiwi-operator answered within ${timeoutMs / 1000} s`;
    else if (err instanceof ForbiddenError) why = `etcd does not let ${s.user} ask the operator (${err.message})`;
    else throw err;
  }
  d.log.warn({ booking: ref, why }, 'dry run: the operator did not answer; forecasting');
  const note = `(a forecast from the planned slots: ${why})`;
  const pv = previewBooking(b, d.hub.list('Booking') as Booking[], d.hub.list('Node') as Node[], await clusterConfig(d.store), Date.now());
  if (!pv.ok) throw new RefusedError(`booking ${ref} would be refused (${pv.reason}): ${pv.message} ${note}`);
  const planned = pv.start > Date.now() + 1000;
  return labelled({
    ...b,
    status: {
      phase: 'Pending', reason: planned ? 'Queued' : 'Scheduled', message: `${pv.message} ${note}`, nodes: pv.nodes,
      startTime: rfc3339(pv.start), endTime: rfc3339(pv.end),
      ...(pv.waitingFor.length ? { waitingFor: pv.waitingFor } : {}),
    },
  }, 'forecast');
}

const labelled = (b: Booking, source: 'operator' | 'forecast'): Booking => ({ ...b, metadata: { ...b.metadata, annotations: { ...b.metadata.annotations, [DRY_RUN_SOURCE]: source } } });

/** JSON merge patch (RFC 7386) of the user-owned parts; the result is validated as a whole. */
async function patch(s: Session, namespace: string, name: string, body: unknown): Promise<Booking> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'BadRequest', 'send a JSON merge patch, e.g. {"spec": {"duration": 5400}} or {"spec": {"cancelled": true}}');
  const allowed = new Set(['spec', 'metadata']);
  for (const k of Object.keys(body)) if (!allowed.has(k)) throw new HttpError(422, 'Invalid', `${k}: only spec and metadata.labels/annotations can be patched (status is the operator's)`);
  const ref = { kind: 'Booking' as const, namespace, name };
  const cur = await s.store.mustGet(ref);
  const b = body as { spec?: unknown; metadata?: Record<string, unknown> };
  if (b.metadata) for (const k of Object.keys(b.metadata)) if (k !== 'labels' && k !== 'annotations') throw new HttpError(422, 'Invalid', `metadata.${k}: cannot be patched`);
  const curPhase = cur.status?.phase;
  const cancelling = (b.spec as { cancelled?: unknown } | undefined)?.cancelled === true;
  const next = mergePatch(structuredClone({ apiVersion: cur.apiVersion, kind: cur.kind, metadata: cur.metadata, spec: cur.spec }), body) as Booking;
  const valid = validateObject(next, `booking ${namespace}/${name}`) as Booking;
  if (valid.spec.user !== cur.spec.user) throw new HttpError(422, 'Invalid', `booking ${namespace}/${name}: spec.user cannot change`);
  // A new length (spec.duration, or spec.end of a booking with a fixed end) is kiwictl extend's
  // change, refused by its rules and in its words (crds/api/extend.ts), as on the page.
  const change = cancelling ? undefined : lengthChange(cur, valid);
  if (change) planExtend(cur, change, Date.now(), (await clusterConfig(s.store)).defaultDuration);
  if (curPhase === 'Expired') throw new RefusedError(`booking ${namespace}/${name} already ended (${cur.status?.reason ?? 'Expired'}); book again`);
  if (cur.spec.cancelled && !cancelling) throw new RefusedError(`booking ${namespace}/${name} is being cancelled; it cannot be changed`);
  valid.metadata.resourceVersion = cur.metadata.resourceVersion;
  return s.store.update(valid);
}

/** The new total a patch gives a booking's length, as `kiwictl extend -t TOTAL`; undefined if it keeps it. */
function lengthChange(cur: Booking, next: Booking): ExtendChange | undefined {
  if (cur.spec.end !== undefined && next.spec.end !== undefined && next.spec.end !== cur.spec.end) {
    const from = cur.status?.startTime ?? cur.spec.start;
    return { kind: 'total', seconds: Math.round((Date.parse(next.spec.end) - (from ? Date.parse(from) : Date.now())) / 1000) };
  }
  if (cur.spec.end === undefined && next.spec.end === undefined && next.spec.duration !== undefined && next.spec.duration !== cur.spec.duration)
    return { kind: 'total', seconds: parseDuration(next.spec.duration) };
  return undefined;
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * A watch: the current objects as ADDED, a BOOKMARK marking the end of them (Kubernetes'
 * sendInitialEvents), then every change from the hub. Server-Sent Events when the client
 * accepts text/event-stream (the page's EventSource), else newline-delimited JSON.
 */
function watch(d: ApiDeps, req: IncomingMessage, res: ServerResponse, kind: WatchedKind, namespace: string | undefined, keep: (o: KiwiObject) => boolean): void {
  const sse = (req.headers.accept ?? '').includes('text/event-stream');
  res.writeHead(200, {
    'content-type': sse ? 'text/event-stream; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive',
  });
  res.socket?.setNoDelay(true);
  if (sse) res.write('retry: 1000\n\n');
  // Initial state and subscription in one synchronous step: no change falls between them. The
  // initial events go out as one write (thousands of small writes cost a page ~0.3 s at 3,000).
  const initial: string[] = [];
  const frame = (line: string) => (sse ? `data: ${line}\n\n` : line + '\n');
  for (const o of d.hub.list(kind, namespace)) if (keep(o)) initial.push(frame(JSON.stringify({ type: 'ADDED', object: o })));
  initial.push(frame(JSON.stringify({ type: 'BOOKMARK', object: { kind, apiVersion: API_VERSION, metadata: { resourceVersion: String(d.hub.revision()), annotations: { 'k8s.io/initial-events-end': 'true' } } } })));
  res.write(initial.join(''));
  const unsubscribe = d.hub.subscribe({
    kind, namespace,
    send: (line: string, ev: WatchEvent) => {
      if (keep(ev.object)) res.write(frame(line));
    },
  });
  const beat = setInterval(() => res.write(sse ? ': keep-alive\n\n' : '\n'), HEARTBEAT_MS);
  const done = () => {
    clearInterval(beat);
    unsubscribe();
  };
  req.on('close', done);
  res.on('error', done);
}


// Validation of Kiwi objects against the CRD schemas (the one source of truth), plus the
// metadata rules a Kubernetes API server would apply. Pure: an object in, a normalized
// object (defaults filled, durations in seconds, times in UTC) or an InvalidError out.
import type { ErrorObject, ValidateFunction } from 'ajv';
import * as generatedValidators from './validators.gen.js';
import type { KiwiObject, KindName } from './types.js';
import { API_VERSION, SCHEDULE_LABEL } from './types.js';
import { KINDS, kindInfo } from './kinds.js';
import { InvalidError } from './errors.js';
import { parseDuration, DurationError, MAX_RETENTION_SECONDS } from './duration.js';
import { RETENTION_DURATIONS } from './config.js';
import { POWER_DURATIONS, powerProblems } from './power.js';
import { isLabelKey, isLabelValue, parseSelector } from './selector.js';
import { POOL_LIMIT_DURATIONS } from './pool.js';
import { NAME_PATTERN, USER_PATTERN } from './keys.js';
import { isTimeZone } from './time.js';
import type { ObjectCheck } from './decode.js';

/** The largest object Kiwi stores; etcd's own request limit is 1.5 MiB. */
export const MAX_OBJECT_BYTES = 256 * 1024;
const NAME = NAME_PATTERN;
const USER = USER_PATTERN;
const METADATA_FIELDS = new Set(['name', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'generation', 'creationTimestamp']);

type Json = Record<string, any>;

/**
 * Each kind's validator: Ajv's code, generated from the CRD at `npm run gen` (crds/gen/ajv.ts),
 * so nothing compiles a schema at run time.
 */
const VALIDATORS = generatedValidators as unknown as Record<KindName, ValidateFunction>;

/** "/spec/nodes/0" -> "spec.nodes[0]" */
function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(object)';
}

function describeError(e: ErrorObject, kind: KindName): string | undefined {
  const at = fieldPath(e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${fieldPath(e.instancePath, String(e.params.additionalProperty))}: unknown field`;
    case 'required':
      return `${fieldPath(e.instancePath, String(e.params.missingProperty))}: required field is missing`;
    case 'oneOf':
      return (kind === 'Booking' && at === 'spec') || (kind === 'BookingSchedule' && at === 'spec.template')
        ? `${at}: give either nodes, or nodeSelector with count (one of the two, not both)`
        : `${at}: must match exactly one of its alternatives`;
    case 'anyOf':
      return undefined; // the branches' own errors say more
    case 'enum':
      return `${at}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `${at}: does not match the pattern ${e.params.pattern}`;
    case 'maximum':
    case 'minimum':
      return `${at}: must be ${e.keyword === 'maximum' ? 'at most' : 'at least'} ${e.params.limit}`;
    case 'maxLength':
    case 'maxItems':
    case 'maxProperties':
      return `${at}: must have at most ${e.params.limit} ${e.keyword === 'maxLength' ? 'characters' : e.keyword === 'maxItems' ? 'items' : 'entries'}`;
    case 'minLength':
    case 'minItems':
      return `${at}: must have at least ${e.params.limit} ${e.keyword === 'minLength' ? 'characters' : 'items'}`;
    case 'format':
      return `${at}: must be a ${e.params.format}${e.params.format === 'date-time' ? ' (RFC 3339, e.g. 2026-05-01T14:00:00Z)' : ''}`;
    case 'type':
      return `${at}: must be ${/^[aeiou]/.test(String(e.params.type)) ? 'an' : 'a'} ${e.params.type}`;
    default:
      return `${at}: ${e.message}`;
  }
}

const DURATION_FIELDS: Record<KindName, string[][]> = {
  Booking: [['spec', 'duration'], ['spec', 'endSignal', 'before']],
  Node: [],
  ClusterConfig: [['spec', 'defaultDuration'], ['spec', 'maxDuration'], ...RETENTION_DURATIONS.map((f) => ['spec', 'retention', f]), ...POWER_DURATIONS.map((f) => ['spec', 'power', ...f]), ['spec', 'healing', 'gracePeriod'], ['spec', 'idleRelease', 'after'], ['spec', 'idleRelease', 'warnBefore']],
  UsageRecord: [],
  Pool: [['spec', 'fairShareHalfLife'], ...POOL_LIMIT_DURATIONS.map((f) => ['spec', 'limits', f])],
  Account: [],
  Subscription: [],
  BookingSchedule: [['spec', 'duration'], ['spec', 'horizon']],
};
const TIME_FIELDS: Record<KindName, string[][]> = { Booking: [['spec', 'start'], ['spec', 'end']], Node: [], ClusterConfig: [], UsageRecord: [], Pool: [], Account: [], Subscription: [], BookingSchedule: [] };

function at(obj: Json, path: string[]): { parent: Json; key: string } | undefined {
  let cur: any = obj;
  for (const p of path.slice(0, -1)) {
    cur = cur?.[p];
    if (cur === null || typeof cur !== 'object') return undefined;
  }
  return { parent: cur, key: path[path.length - 1] };
}

function validateMetadata(kind: KindName, meta: unknown, problems: string[]): void {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    problems.push('metadata: must be an object with at least a name');
    return;
  }
  const m = meta as Json;
  for (const k of Object.keys(m)) if (!METADATA_FIELDS.has(k)) problems.push(`metadata.${k}: unknown field`);
  // A schedule's occurrences are Bookings named <schedule>-<YYYYMMDD>: 63 less 9.
  const maxName = kind === 'Booking' ? 63 : kind === 'BookingSchedule' ? 54 : 253;
  if (typeof m.name !== 'string' || m.name === '') problems.push('metadata.name: required field is missing');
  else if (m.name.length > maxName || !NAME.test(m.name))
    problems.push(`metadata.name: "${m.name.slice(0, 80)}" is not a valid name: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most ${maxName} characters`);
  else if (kind === 'ClusterConfig' && m.name !== 'default') problems.push('metadata.name: the ClusterConfig must be named "default"');
  if (kindInfo(kind).namespaced) {
    if (typeof m.namespace !== 'string' || m.namespace.length > 32 || !USER.test(m.namespace))
      problems.push(`metadata.namespace: ${m.namespace === undefined ? 'required field is missing' : `"${String(m.namespace).slice(0, 80)}" is not a user name`}`);
  } else if (m.namespace !== undefined) problems.push(`metadata.namespace: ${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind} is cluster-wide and has no namespace`);
  for (const field of ['labels', 'annotations'] as const) {
    const v = m[field];
    if (v === undefined) continue;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      problems.push(`metadata.${field}: must be a map of strings`);
      continue;
    }
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string') problems.push(`metadata.${field}.${k}: must be a string`);
      else if (field === 'labels' && !isLabelValue(val)) problems.push(`metadata.labels.${k}: "${val.slice(0, 80)}" is not a valid label value (at most 63 letters, digits, "-", "_", ".")`);
      if (!isLabelKey(k)) problems.push(`metadata.${field}: "${k.slice(0, 80)}" is not a valid key`);
    }
  }
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp'])
    if (m[f] !== undefined && typeof m[f] !== 'string') problems.push(`metadata.${f}: must be a string`);
  if (m.generation !== undefined && !Number.isInteger(m.generation)) problems.push('metadata.generation: must be an integer');
}

/**
 * A Booking is for the user whose namespace it is in: identity comes from where it is stored
 * (the namespace of its etcd key), never from the value. spec.user may be left out; if given it
 * must say the same. '' when it holds, else the problem and the fix.
 */
export function bookingUserProblem(b: { metadata?: { namespace?: unknown }; spec?: { user?: unknown } }): string {
  const user = b.spec?.user;
  const ns = b.metadata?.namespace;
  if (user === undefined || user === ns) return '';
  return `spec.user: ${JSON.stringify(user)} is not the booking's namespace ${JSON.stringify(ns)}; a booking is always for the user whose namespace it is in: drop spec.user, or write the booking in namespace ${JSON.stringify(user)} (-n ${typeof user === 'string' ? user : 'USER'}; admins only)`;
}

/**
 * The schema as a decodeObject check: '' when the stored object fits, else what does not. Every
 * reader of stored values that serves or plans them uses it (the operator's cache, kiwi-web's
 * informers): a raw write that fits the key but not the schema (a Pool with nodeSelector: 7) is
 * left out, never served nor planned.
 */
export const schemaCheck: ObjectCheck = (obj, _where, bytes) => {
  try {
    validateObject(obj, 'schema', bytes);
    return '';
  } catch (e) {
    return (e as Error).message.replace(/^schema: /, 'does not fit the schema: ');
  }
};

/**
 * Validates one object and returns it normalized: defaults filled in, durations as seconds,
 * times as UTC. `what` names the object in messages (e.g. `booking.yaml document 2`).
 * `bytes`: its size as stored, where the caller read it so (else it is serialized to be weighed).
 * Throws InvalidError listing every problem, each with its field path and rule.
 */
export function validateObject(input: unknown, what: string, bytes?: number): KiwiObject {
  const fail = (problems: string[]) => new InvalidError(`${what}: ${problems.join('; ')}`, problems.map((p) => `${what}: ${p}`));
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw fail(['must be an object with apiVersion, kind, metadata and spec']);
  let json = bytes === undefined ? JSON.stringify(input) : undefined;
  const size = bytes ?? Buffer.byteLength(json!);
  if (size > MAX_OBJECT_BYTES)
    throw fail([`object is ${(size / 1048576).toFixed(1)} MiB, larger than the ${MAX_OBJECT_BYTES / 1024} KiB Kiwi stores`]);
  // The copy that is normalized (the input stays as given). Through JSON, which every Kiwi
  // object is: ~2x faster than structuredClone, a cost every stored object pays in the checks.
  json ??= JSON.stringify(input);
  const obj = JSON.parse(json) as Json;
  if (obj.apiVersion !== API_VERSION)
    throw fail([`apiVersion: must be "${API_VERSION}"${obj.apiVersion === undefined ? ' (it is missing)' : `, not ${JSON.stringify(obj.apiVersion)}`}`]);
  const info = KINDS.find((k) => k.kind === obj.kind);
  if (!info) throw fail([`kind: must be one of ${KINDS.map((k) => k.kind).join(', ')}${obj.kind === undefined ? ' (it is missing)' : `, not ${JSON.stringify(obj.kind)}`}`]);
  const kind = info.kind;
  const problems: string[] = [];
  validateMetadata(kind, obj.metadata, problems);
  for (const path of DURATION_FIELDS[kind]) {
    const loc = at(obj, path);
    const v = loc?.parent[loc.key];
    if (v === undefined) continue;
    if (typeof v === 'string' || (typeof v === 'number' && (v <= 0 || !Number.isInteger(v)))) {
      try {
        // Retention is kept for years; a booking's durations stay within MAX_DURATION_SECONDS.
        loc!.parent[loc!.key] = parseDuration(v, path[1] === 'retention' ? MAX_RETENTION_SECONDS : undefined);
      } catch (e) {
        if (!(e instanceof DurationError)) throw e;
        problems.push(`${path.join('.')}: ${e.message}`);
        delete loc!.parent[loc!.key]; // reported already; keep the schema from saying it twice
      }
    }
  }
  const validate = VALIDATORS[kind];
  if (!validate(obj)) for (const e of validate.errors ?? []) {
    const msg = describeError(e, kind);
    if (msg && !problems.includes(msg)) problems.push(msg);
  }
  if (problems.length) throw fail(problems);
  for (const path of TIME_FIELDS[kind]) {
    const loc = at(obj, path);
    if (loc && typeof loc.parent[loc.key] === 'string') loc.parent[loc.key] = new Date(loc.parent[loc.key]).toISOString().replace('.000Z', 'Z');
  }
  if (kind === 'Booking') {
    const s = obj.spec;
    if (s.end !== undefined && s.duration !== undefined) problems.push('spec: give duration or end, not both');
    if (s.start !== undefined && s.end !== undefined && Date.parse(s.end) <= Date.parse(s.start)) problems.push(`spec.end: ${s.end} is not after spec.start ${s.start}`);
    if (s.nodeSelector !== undefined && s.count === undefined) problems.push('spec.count: required with nodeSelector');
    if (s.nodes !== undefined && new Set(s.nodes).size !== s.nodes.length) problems.push('spec.nodes: names a node twice');
    const who = bookingUserProblem(obj as any);
    if (who) problems.push(who);
  }
  if (kind === 'Pool') problems.push(...poolProblems(obj.spec ?? {}));
  if (kind === 'BookingSchedule') problems.push(...scheduleProblems(obj.spec));
  if (kind === 'ClusterConfig' && obj.spec?.defaultDuration && obj.spec?.maxDuration && obj.spec.defaultDuration > obj.spec.maxDuration)
    problems.push('spec.defaultDuration: is longer than spec.maxDuration');
  if (kind === 'ClusterConfig') problems.push(...powerProblems(obj.spec?.power));
  if (problems.length) throw fail(problems);
  return obj as KiwiObject;
}

/** A real calendar date written YYYY-MM-DD? */
export function isLocalDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** What the schema cannot say about a BookingSchedule: a known zone, real dates, a template like a Booking's. */
function scheduleProblems(s: Json): string[] {
  const out: string[] = [];
  if (!isTimeZone(s.timeZone)) out.push(`spec.timeZone: "${String(s.timeZone).slice(0, 64)}" is not a time zone this system knows; use an IANA name such as Europe/Berlin or UTC`);
  for (const f of ['from', 'until'] as const) if (s[f] !== undefined && !isLocalDate(s[f])) out.push(`spec.${f}: ${s[f]} is not a date (YYYY-MM-DD)`);
  (s.exceptions ?? []).forEach((d: string, i: number) => {
    if (!isLocalDate(d)) out.push(`spec.exceptions[${i}]: ${d} is not a date (YYYY-MM-DD)`);
  });
  if (s.from && s.until && s.until < s.from) out.push(`spec.until: ${s.until} is before spec.from ${s.from}`);
  const t = s.template ?? {};
  if (t.nodeSelector !== undefined && t.count === undefined) out.push('spec.template.count: required with nodeSelector');
  if (t.nodes !== undefined && new Set(t.nodes).size !== t.nodes.length) out.push('spec.template.nodes: names a node twice');
  for (const k of Object.keys(t.labels ?? {})) if (k === SCHEDULE_LABEL) out.push(`spec.template.labels: ${SCHEDULE_LABEL} is set by the operator (the schedule\'s name)`);
  return out;
}

/** What the schema cannot say about a Pool: a selector that parses, a time zone Intl knows, defaults within maxima. */
function poolProblems(s: Json): string[] {
  const out: string[] = [];
  try {
    parseSelector(s.nodeSelector ?? '');
  } catch (e) {
    out.push(`spec.nodeSelector: ${(e as Error).message}`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s.timeZone ?? 'UTC' });
  } catch {
    out.push(`spec.timeZone: ${JSON.stringify(s.timeZone)} is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  }
  const l = s.limits ?? {};
  if (l.defaultDuration !== undefined && l.maxDuration !== undefined && l.defaultDuration > l.maxDuration) out.push('spec.limits.defaultDuration: is longer than spec.limits.maxDuration');
  return out;
}

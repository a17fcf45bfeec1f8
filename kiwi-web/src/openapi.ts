// Pure: the OpenAPI 3 document of the HTTP API, generated from the CRDs (crds/*.yaml through
// crds/api's generated schemas), so the API's schema and kiwictl's validation have one source.
import { KINDS, type KindInfo } from '../../crds/api/kinds.js';
import { API_VERSION } from '../../crds/api/types.js';

export const API_PREFIX = `/apis/${API_VERSION}`;
type Json = Record<string, unknown>;

const ref = (k: KindInfo) => ({ $ref: `#/components/schemas/${k.kind}` });
const status = { $ref: '#/components/schemas/Status' };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: ERR[c], content: { 'application/json': { schema: status } } }]));
const ERR: Record<number, string> = {
  401: 'not logged in, or a bad token', 403: 'forbidden (by this server or by etcd)', 404: 'not found', 409: 'already exists, changed meanwhile, or refused by the cluster',
  422: 'invalid: every problem with its field path, as kiwictl prints it', 503: 'etcd unreachable',
};

function listOf(k: KindInfo): Json {
  return { type: 'object', properties: { apiVersion: { type: 'string' }, kind: { type: 'string', enum: [`${k.kind}List`] }, metadata: { type: 'object', properties: { resourceVersion: { type: 'string' } } }, items: { type: 'array', items: ref(k) } } };
}

const watchParam = { name: 'watch', in: 'query', schema: { type: 'boolean' }, description: 'stream changes: the current objects as ADDED, a BOOKMARK (annotation k8s.io/initial-events-end), then every change; newline-delimited JSON, or Server-Sent Events with Accept: text/event-stream' };
const selParam = { name: 'labelSelector', in: 'query', schema: { type: 'string' }, description: 'e.g. gpu=a100,rack!=3' };

export function openApi(): Json {
  const node = KINDS.find((k) => k.kind === 'Node')!;
  const booking = KINDS.find((k) => k.kind === 'Booking')!;
  const pool = KINDS.find((k) => k.kind === 'Pool')!;
  const schedule = KINDS.find((k) => k.kind === 'BookingSchedule')!;
  const schemas: Json = {
    Status: { type: 'object', required: ['kind', 'message', 'reason', 'code'], properties: { kind: { type: 'string', enum: ['Status'] }, apiVersion: { type: 'string' }, status: { type: 'string' }, message: { type: 'string' }, reason: { type: 'string' }, code: { type: 'integer' }, details: { type: 'object', properties: { causes: { type: 'array', items: { type: 'object', properties: { message: { type: 'string' } } } } } } } },
  };
  for (const k of [node, booking, pool, schedule]) {
    schemas[k.kind] = { ...(k.crd.spec.versions[0].schema!.openAPIV3Schema as Json), 'x-kubernetes-group-version-kind': [{ group: 'kiwi.dev', version: 'v1alpha1', kind: k.kind }] };
    schemas[`${k.kind}List`] = listOf(k);
  }
  const ok = (schema: Json, desc = 'OK') => ({ description: desc, content: { 'application/json': { schema } } });
  const nsParam = { name: 'namespace', in: 'path', required: true, schema: { type: 'string' }, description: 'the user who owns the bookings' };
  const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
  const bkList = { $ref: '#/components/schemas/BookingList' };
  return {
    openapi: '3.0.3',
    info: { title: 'Kiwi', version: 'v1alpha1', description: 'Book whole nodes. Log in with POST /web/login {"user","password","token":true} and send Authorization: Bearer TOKEN.' },
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, cookie: { type: 'apiKey', in: 'cookie', name: 'kiwi_session' } } },
    paths: {
      [`${API_PREFIX}/nodes`]: { get: { operationId: 'listNodes', parameters: [watchParam, selParam], responses: { 200: ok({ $ref: '#/components/schemas/NodeList' }) } } },
      [`${API_PREFIX}/nodes/{name}`]: { get: { operationId: 'readNode', parameters: [nameParam], responses: { 200: ok(ref(node)), ...errors(404) } } },
      [`${API_PREFIX}/pools`]: { get: { operationId: 'listPools', parameters: [watchParam, selParam], responses: { 200: ok({ $ref: '#/components/schemas/PoolList' }) } } },
      [`${API_PREFIX}/pools/{name}`]: { get: { operationId: 'readPool', parameters: [nameParam], responses: { 200: ok(ref(pool)), ...errors(404) } } },
      [`${API_PREFIX}/bookingschedules`]: { get: { operationId: 'listBookingSchedulesAllNamespaces', parameters: [watchParam, selParam], responses: { 200: ok({ $ref: '#/components/schemas/BookingScheduleList' }) } } },
      [`${API_PREFIX}/namespaces/{namespace}/bookingschedules`]: { get: { operationId: 'listBookingSchedules', description: 'recurring bookings: each rule, and in its status the occurrences made (ordinary Bookings labelled kiwi.dev/schedule=NAME)', parameters: [nsParam, watchParam, selParam], responses: { 200: ok({ $ref: '#/components/schemas/BookingScheduleList' }) } } },
      [`${API_PREFIX}/namespaces/{namespace}/bookingschedules/{name}`]: { get: { operationId: 'readBookingSchedule', parameters: [nsParam, nameParam], responses: { 200: ok(ref(schedule)), ...errors(404) } } },
      [`${API_PREFIX}/bookings`]: { get: { operationId: 'listBookingsAllNamespaces', parameters: [watchParam, selParam], responses: { 200: ok(bkList) } } },
      [`${API_PREFIX}/namespaces/{namespace}/bookings`]: {
        get: { operationId: 'listBookings', parameters: [nsParam, watchParam, selParam], responses: { 200: ok(bkList) } },
        post: {
          operationId: 'createBooking', security: [{ bearer: [] }, { cookie: [] }],
          parameters: [nsParam, { name: 'dryRun', in: 'query', schema: { type: 'string', enum: ['All'] }, description: 'validate and forecast (planned start, or the refusal) without writing' }],
          requestBody: { required: true, content: { 'application/json': { schema: ref(booking) } } },
          responses: { 201: ok(ref(booking), 'created'), 200: ok(ref(booking), 'dry run: status holds the forecast'), ...errors(401, 403, 409, 422, 503) },
        },
      },
      [`${API_PREFIX}/namespaces/{namespace}/bookings/{name}`]: {
        get: { operationId: 'readBooking', parameters: [nsParam, nameParam], responses: { 200: ok(ref(booking)), ...errors(404) } },
        patch: {
          operationId: 'patchBooking', security: [{ bearer: [] }, { cookie: [] }], parameters: [nsParam, nameParam],
          description: 'JSON merge patch of spec (duration, end, cancelled: true to end it now) and metadata.labels/annotations',
          requestBody: { required: true, content: { 'application/merge-patch+json': { schema: { type: 'object' } } } },
          responses: { 200: ok(ref(booking)), ...errors(401, 403, 404, 409, 422, 503) },
        },
        delete: { operationId: 'deleteBooking', security: [{ bearer: [] }, { cookie: [] }], parameters: [nsParam, nameParam], responses: { 200: ok(status), ...errors(401, 403, 404, 503) } },
      },
    },
  };
}

// The pure parts of kiwi-web's server: login mode, CSRF and origin checks, errors as Status,
// merge patches, the OpenAPI document.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { checkCsrf, checkOrigin, loginMode } from '../../../kiwi-web/src/auth.js';
import { mergePatch } from '../../../kiwi-web/src/api.js';
import { statusOf, HttpError } from '../../../kiwi-web/src/status.js';
import { openApi } from '../../../kiwi-web/src/openapi.js';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, UnavailableError } from '../../../crds/api/errors.js';

const req = (headers: Record<string, string>) => ({ headers: { host: 'kiwi:8080', ...headers } }) as unknown as IncomingMessage;

describe('kiwi-web server parts (pure)', () => {
  it('offers name-only dev login only on loopback etcd without auth', () => {
    assert.equal(loginMode(['http://127.0.0.1:2379', 'http://localhost:2380'], false, 'auto').mode, 'dev');
    assert.equal(loginMode(['http://[::1]:2379'], false, 'auto').mode, 'dev');
    assert.equal(loginMode(['http://127.0.0.1:2379'], true, 'auto').mode, 'etcd');
    assert.equal(loginMode(['http://10.0.0.1:2379'], false, 'auto').mode, 'etcd');
    assert.match(loginMode(['http://10.0.0.1:2379'], false, 'auto').note, /nobody can log in/);
    assert.equal(loginMode(['http://127.0.0.1:2379'], false, 'etcd').mode, 'etcd');
    assert.throws(() => loginMode(['http://127.0.0.1:2379', 'http://10.0.0.1:2379'], false, 'dev'), /not loopback: http:\/\/10\.0\.0\.1:2379/);
    assert.throws(() => loginMode(['http://127.0.0.1:2379'], true, 'dev'), /authentication on/);
  });

  it('wants the session\'s CSRF token and this server as the origin for cookie writes', () => {
    assert.doesNotThrow(() => checkCsrf(req({ 'x-csrf-token': 'abc' }), 'abc'));
    assert.doesNotThrow(() => checkCsrf(req({ 'x-csrf-token': 'abc', origin: 'http://kiwi:8080' }), 'abc'));
    assert.throws(() => checkCsrf(req({}), 'abc'), /missing or wrong x-csrf-token/);
    assert.throws(() => checkCsrf(req({ 'x-csrf-token': 'abd' }), 'abc'), /missing or wrong/);
    assert.throws(() => checkCsrf(req({ 'x-csrf-token': 'abc', origin: 'http://evil:8080' }), 'abc'), /cross-site/);
    assert.throws(() => checkCsrf(req({ 'x-csrf-token': 'abc', origin: 'null' }), 'abc'), /cross-site/);
    assert.throws(() => checkOrigin(req({ origin: 'https://kiwi:8080.evil' })), /cross-site/);
    assert.doesNotThrow(() => checkOrigin(req({})));
  });

  it('answers errors as Kubernetes Status objects with the Kiwi message', () => {
    const inv = statusOf(new InvalidError('booking a/b: x; y', ['booking a/b: x', 'booking a/b: y']));
    assert.deepEqual([inv.code, inv.reason, inv.details?.causes.length], [422, 'Invalid', 2]);
    assert.deepEqual([statusOf(new NotFoundError('n')).code, statusOf(new ConflictError('c')).code, statusOf(new ForbiddenError('f')).code, statusOf(new UnavailableError('u')).code], [404, 409, 403, 503]);
    assert.equal(statusOf(new HttpError(401, 'Unauthorized', 'log in')).message, 'log in');
  });

  it('merges patches as RFC 7386 says', () => {
    assert.deepEqual(mergePatch({ spec: { a: 1, b: 2 }, m: 1 }, { spec: { b: null, c: 3 } }), { spec: { a: 1, c: 3 }, m: 1 });
    assert.deepEqual(mergePatch({ spec: { nodes: ['a', 'b'] } }, { spec: { nodes: ['c'] } }), { spec: { nodes: ['c'] } });
  });

  it('generates the OpenAPI schemas from crds/*.yaml', () => {
    const doc = openApi() as any;
    const crd = yaml.load(readFileSync(new URL('../../../crds/booking.yaml', import.meta.url), 'utf8')) as any;
    assert.deepEqual(doc.components.schemas.Booking.properties, crd.spec.versions[0].schema.openAPIV3Schema.properties);
    assert.ok(doc.paths['/apis/kiwi.dev/v1alpha1/namespaces/{namespace}/bookings/{name}'].patch);
  });
});

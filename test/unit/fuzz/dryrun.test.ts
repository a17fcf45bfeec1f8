// Property: whatever a user writes as a server dry-run request (/kiwi/dryrun/<user>/<id>/request,
// parsed by operator/src/dryrun/server.ts and answered by dryRunAnswer), the operator's answer is
// an error or a status, never an exception, and never a plan for another user's namespace.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dryRunAnswer } from '../../../operator/src/dryrun/answer.js';
import { parseDryRunRequestKey } from '../../../crds/api/dryrun.js';
import { applyAccountChange } from '../../../operator/src/accounting/manage.js';
import { decodeAccountChange } from '../../../crds/api/account-change.js';
import type { Account } from '../../../crds/api/types.js';
import { input, node, T0 } from '../operator/fixtures.js';
import { mutate, mutationPath, oddValue, validBooking } from './gen.js';

const plan = () => input({ now: T0, nodes: [node('n01'), node('n02')] });
const answer = (value: unknown) => dryRunAnswer(plan(), 'alice', value);
const checkAnswer = (a: ReturnType<typeof answer>) => {
  assert.ok(typeof a.error === 'string' || (a.status && typeof a.status.phase === 'string'), JSON.stringify(a));
  assert.ok(typeof a.time === 'string');
};

describe('fuzz: server dry-run requests are untrusted', () => {
  it('property: any JSON value as the request: an error or a status, never a throw', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => checkAnswer(answer(v))), { numRuns: 1500 });
  });

  it('property: a mutated request booking: an error or a status; a status only for a booking in the key\'s namespace', () => {
    fc.assert(
      fc.property(mutationPath, oddValue, fc.constantFrom<'set' | 'delete'>('set', 'delete'), (path, v, op) => {
        const b = mutate(validBooking(), path, v, op) as any;
        const a = answer({ booking: b });
        checkAnswer(a);
        if (a.status) assert.equal(b?.metadata?.namespace, 'alice');
      }),
      { numRuns: 1500 },
    );
  });

  it('huge and deep requests, bytes that are not JSON (as the server parses them): an answer each', () => {
    const deep = (n: number) => JSON.parse('{"a":'.repeat(n) + '1' + '}'.repeat(n));
    for (const v of [deep(5_000), { booking: deep(5_000) }, { booking: { ...validBooking(), spec: { nodes: Array.from({ length: 50_000 }, (_, i) => `n${i}`), duration: 60 } } }, { booking: { ...validBooking(), metadata: { name: 'x', namespace: 'bob' } } }])
      checkAnswer(answer(v));
    const { user: _u, ...spec } = validBooking().spec;
    assert.match(answer({ booking: { ...validBooking(), metadata: { name: 'x', namespace: 'bob' }, spec } }).error!, /booking bob\/x is not in namespace alice/);
  });

  it('request keys: only /kiwi/dryrun/<user>/<hex id>/request is one', () => {
    for (const bad of ['/kiwi/dryrun/alice/../bob/12345678/request', '/kiwi/dryrun/alice/12345678/answer', '/kiwi/dryrun/Alice/12345678/request', '/kiwi/dryrun/alice/1234/request', '/kiwi/dryrun/alice/12345678/request/x', '/kiwi/dryrun//12345678/request'])
      assert.equal(parseDryRunRequestKey(bad), undefined, bad);
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
      const r = parseDryRunRequestKey(`/kiwi/dryrun/${s}/request`);
      if (r) assert.equal(`${r.user}/${r.id}`, s);
    }), { numRuns: 2000 });
  });

  it('property: any JSON value as an account change: an error or a spec, never a throw; a non-manager never changes it; the allocation and managers never change', () => {
    const acct: Account = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name: 'lab' }, spec: { members: { users: ['pi'] }, managers: ['pi'], allocation: { units: 100 } } };
    const change = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.record({ account: fc.constant('lab'), addUsers: fc.array(fc.string({ maxLength: 12 })), memberCaps: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.double(), fc.constant(null))), allocation: fc.jsonValue() }, { requiredKeys: ['account'] }));
    fc.assert(
      fc.property(change, fc.constantFrom('pi', 'bob'), (v, who) => {
        const c = decodeAccountChange(v);
        if ('error' in c) return assert.equal(typeof c.error, 'string');
        const r = applyAccountChange(acct, who, false, c);
        if (who === 'bob') assert.ok('error' in r);
        if ('error' in r) return;
        assert.deepEqual([r.spec.allocation, r.spec.managers], [{ units: 100 }, ['pi']]);
      }),
      { numRuns: 1500 },
    );
  });
});

// An account manager's change, pure: who may (the requester named by the request key), what
// (members and member caps only), and the hostile value decoded field by field.
import { strict as assert } from 'node:assert';
import type { Account } from '../../../crds/api/types.js';
import { applyAccountChange } from '../../../operator/src/accounting/manage.js';
import { decodeAccountChange } from '../../../crds/api/account-change.js';

const acct: Account = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Account', metadata: { name: 'lab' }, spec: { members: { users: ['pi'], groups: ['phd'] }, managers: ['pi'], allocation: { units: 100 }, memberCaps: { bob: 3 } } };

describe('accounting: a manager changes members and caps (pure)', () => {
  it('adds and removes users and groups, sets and clears caps, and keeps the rest of the spec', () => {
    const r = applyAccountChange(acct, 'pi', false, { account: 'lab', addUsers: ['alice', 'pi'], removeGroups: ['phd'], addGroups: ['msc'], memberCaps: { alice: 10, bob: null } });
    assert.ok(!('error' in r));
    assert.equal(r.changed, true);
    assert.deepEqual(r.spec, { members: { users: ['pi', 'alice'], groups: ['msc'] }, managers: ['pi'], allocation: { units: 100 }, memberCaps: { alice: 10 } });
    assert.deepEqual(acct.spec.members, { users: ['pi'], groups: ['phd'] }, 'the input is not changed');
  });
  it('a change that is already true changes nothing', () => {
    const r = applyAccountChange(acct, 'pi', false, { account: 'lab', addUsers: ['pi'], removeUsers: ['nobody-here'] });
    assert.ok(!('error' in r) && r.changed === false);
  });
  it('only a manager (or an admin) may; the refusal names the managers', () => {
    assert.deepEqual(applyAccountChange(acct, 'bob', false, { account: 'lab', addUsers: ['bob'] }), { error: 'bob does not manage account lab; its managers are pi' });
    assert.ok(!('error' in applyAccountChange(acct, 'carol', true, { account: 'lab', addUsers: ['bob'] })));
    const none = { ...acct, spec: { ...acct.spec, managers: undefined } };
    assert.deepEqual(applyAccountChange(none, 'pi', false, { account: 'lab' }), { error: 'pi does not manage account lab; its managers are none (only admins)' });
  });
  it('decodes the hostile value field by field: unknown fields, bad names, bad caps', () => {
    assert.match((decodeAccountChange({ account: 'lab', allocation: { units: 1e9 } }) as { error: string }).error, /unknown field\(s\) allocation/);
    assert.match((decodeAccountChange({ account: 'lab', managers: ['bob'] }) as { error: string }).error, /unknown field\(s\) managers/);
    assert.match((decodeAccountChange(null) as { error: string }).error, /not an object/);
    assert.match((decodeAccountChange([]) as { error: string }).error, /not an object/);
    assert.match((decodeAccountChange({ addUsers: ['a'] }) as { error: string }).error, /names no account/);
    assert.match((decodeAccountChange({ account: 'lab', addUsers: 'alice' }) as { error: string }).error, /addUsers must be a list/);
    assert.match((decodeAccountChange({ account: 'lab', addUsers: ['../etc'] }) as { error: string }).error, /addUsers: user name "..\/etc" is not allowed/);
    assert.match((decodeAccountChange({ account: 'lab', addGroups: ['a b'] }) as { error: string }).error, /addGroups: group name "a b" is not allowed/);
    assert.match((decodeAccountChange({ account: 'lab', memberCaps: { alice: -1 } }) as { error: string }).error, /memberCaps.alice must be a number of units from 0/);
    assert.match((decodeAccountChange({ account: 'lab', memberCaps: { alice: 'lots' } }) as { error: string }).error, /got "lots"/);
    assert.match((decodeAccountChange(JSON.parse('{"account": "lab", "memberCaps": {"__proto__": 5}}')) as { error: string }).error, /memberCaps: the name __proto__ is not allowed/);
    assert.match((decodeAccountChange({ account: 'lab', addUsers: ['__proto__'] }) as { error: string }).error, /addUsers: the name __proto__ is not allowed/);
    assert.match((decodeAccountChange({ account: '../lab' }) as { error: string }).error, /account name "..\/lab" is not an object name/);
    assert.match((decodeAccountChange({ account: 'lab/x' }) as { error: string }).error, /is not an object name/);
    assert.deepEqual(decodeAccountChange({ account: 'lab', addUsers: ['alice'], memberCaps: { bob: null } }), { account: 'lab', addUsers: ['alice'], memberCaps: { bob: null } });
  });
  it('the schema still bounds the result (at most 10,000 users)', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `u${i}`);
    const full = { ...acct, spec: { ...acct.spec, members: { users: many } } };
    const r = applyAccountChange(full, 'pi', false, { account: 'lab', addUsers: ['one-more'] });
    assert.ok('error' in r && /users/.test(r.error), JSON.stringify(r).slice(0, 200));
  });
});

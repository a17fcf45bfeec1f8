import assert from 'node:assert/strict';
import { parseSelector, matches, fromMap } from '../../../crds/api/selector.js';
import { InvalidError } from '../../../crds/api/errors.js';

describe('label selectors', () => {
  const labels = { gpu: 'a100', rack: 'r1', 'kiwi.dev/pool': 'lab' };
  const cases: [string, boolean][] = [
    ['', true], ['gpu=a100', true], ['gpu==a100', true], ['gpu!=a100', false], ['gpu=v100', false],
    ['gpu in (a100,v100)', true], ['gpu notin (a100)', false], ['gpu', true], ['!gpu', false], ['!cpu', true],
    ['gpu=a100,rack=r1', true], ['gpu=a100,rack=r2', false], ['kiwi.dev/pool=lab', true], ['cpu!=x', true],
    ['rack in (r1, r2),gpu', true],
  ];
  for (const [sel, want] of cases) it(`"${sel}" -> ${want}`, () => assert.equal(matches(parseSelector(sel), labels), want));

  const bad = ['gpu=(', '=a', 'a b', 'gpu in a100', 'Bad Key=1', 'x=' + 'v'.repeat(70), '!', 'a,,b'];
  for (const sel of bad) it(`refuses "${sel}"`, () => assert.throws(() => parseSelector(sel), InvalidError));

  it('nodeSelector maps become equality requirements', () => {
    assert.equal(matches(fromMap({ gpu: 'a100' }), labels), true);
    assert.equal(matches(fromMap({ gpu: 'v100' }), labels), false);
    assert.equal(matches(fromMap(undefined), undefined), true);
  });
});

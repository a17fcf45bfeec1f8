// The daemon's state file: round trip, and what a missing, corrupt or foreign file gives.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyState, loadState, saveState, statePath } from '../../../node-daemon/src/watch/state.js';

describe('node-daemon state file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kiwitest-unit-state-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips the view, what is owed and what was sent', () => {
    const s = emptyState('n1');
    s.view.entries = [{ booking: 'a/b', uid: 'u1', user: 'a', start: 1, end: 2 }];
    s.known = [{ ...s.view.entries[0], goneAt: 3 }];
    s.sent = ['u1:warn:60'];
    s.done = ['u0@5'];
    saveState(dir, s);
    assert.deepEqual(loadState(dir, 'n1'), { state: s });
  });
  it('a missing file is an empty state without a problem', () => {
    assert.deepEqual(loadState(join(dir, 'nope'), 'n1'), { state: emptyState('n1') });
  });
  it('a corrupt file is an empty state with the reason', () => {
    writeFileSync(statePath(dir), '{not json');
    const r = loadState(dir, 'n1');
    assert.deepEqual(r.state, emptyState('n1'));
    assert.match(r.problem!, /not valid JSON/);
  });
  it('another node\'s file is not used', () => {
    saveState(dir, emptyState('other'));
    assert.match(loadState(dir, 'n1').problem!, /belongs to node other/);
  });
});

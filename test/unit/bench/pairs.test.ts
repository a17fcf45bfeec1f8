// The Slurm pairs table finds each Kiwi figure under the name its bench records it by.
import { strict as assert } from 'node:assert';
import { pairsTable } from '../../../bench/peers/pairs.js';
import type { Figure } from '../../../bench/record.js';

const fig = (bench: string, figure: string, value: number): Figure => ({ bench, figure, value, unit: 'ms', peer: '-', peerValue: NaN }) as Figure;

describe('bench pairs table', () => {
  it('pairs a Kiwi figure that carries its setting in parentheses (end-to-clean)', () => {
    const md = pairsTable([
      fig('slurm', 'e2c.limit_to_gone p50', 5100),
      fig('end-to-clean', 'booking end to last process gone p50 (killWaitSeconds 5)', 5006),
    ]);
    const row = md.split('\n').find((l) => l.startsWith('| end of time limit to last process gone p50 '));
    assert.ok(row, md);
    assert.match(row, /\| 5006 ms \| 0\.98x \|$/);
  });

  it('shows "-" for a figure no bench recorded', () => {
    const row = pairsTable([fig('slurm', 'e2c.limit_to_gone p99', 5100)]).split('\n').find((l) => l.startsWith('| end of time limit to last process gone p99 '));
    assert.match(row!, /\| - \| - \|$/);
  });
});

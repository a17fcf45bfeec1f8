// Each benchmark records its figures here, next to the peer or floor it measured in the same
// run; bench/run.ts collects them into a report. Without KIWI_BENCH_OUT nothing is written
// (a bench run alone just prints).
import { appendFileSync } from 'node:fs';

export interface Figure {
  bench: string;
  figure: string;
  value: number;
  unit: string;
  /** what the figure is compared with, measured in the same run */
  peer: string;
  peerValue: number;
  /** e.g. "ratio <= 3" or "ratio >= 0.5" or "value < 50" */
  goal?: string;
  met?: boolean;
}

export function record(f: Figure): void {
  if (process.env.KIWI_BENCH_OUT) appendFileSync(process.env.KIWI_BENCH_OUT, JSON.stringify(f) + '\n');
}

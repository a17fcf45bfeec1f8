// The statistics every benchmark reports with, so that a p99 means the same in every row of the
// report: nearest-rank percentiles (the smallest value with at least p% of the samples at or
// below it), and a fixed number of requests in flight.

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const median = (xs: number[]) => pct(xs, 50);

/** Runs fn(0..n-1) with `inFlight` calls under way at once. */
export async function pool(n: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

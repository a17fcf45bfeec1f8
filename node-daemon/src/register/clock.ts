// Samples etcd's clock through the Date header of its HTTP /version endpoint (served on the
// client URL). See decide/status.ts estimateSkew for how samples become a verdict.
import type { ClockSample } from '../decide/status.js';

export async function sampleEtcdClock(endpoint: string, now: () => number, timeoutMs = 2000): Promise<ClockSample | undefined> {
  if (!/^http:\/\//.test(endpoint)) return undefined; // TLS endpoints: would need the client certs; not sampled
  const t0 = now();
  const res = await fetch(endpoint.replace(/\/$/, '') + '/version', { signal: AbortSignal.timeout(timeoutMs) });
  const t1 = now();
  await res.arrayBuffer();
  const d = res.headers.get('date');
  const date = d ? Date.parse(d) : NaN;
  return Number.isFinite(date) ? { t0, t1, date } : undefined;
}

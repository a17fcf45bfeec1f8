// Restores wake-on-LAN on the node's network card at every daemon start (ethtool, by its
// absolute path). Not fatal: a missing tool, no card support or a failure is reported in the
// Node's WakeOnLan condition and the daemon goes on.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Condition } from '../../../crds/api/index.js';
import { parseEthtool, wolStep } from '../decide/wol.js';

export type WolCondition = Omit<Condition, 'type' | 'lastTransitionTime'>;

/** The interface of the default route (/proc/net/route), or undefined. */
export function defaultRouteInterface(routes = '/proc/net/route'): string | undefined {
  try {
    for (const line of readFileSync(routes, 'utf8').split('\n').slice(1)) {
      const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
      if (iface && dest === '00000000' && mask === '00000000') return iface;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string; err: string; code?: string | number }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000, killSignal: 'SIGKILL', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } }, (e, out, err) => resolve({ ok: !e, out: String(out), err: String(err).trim().slice(0, 300), code: (e as NodeJS.ErrnoException | null)?.code ?? undefined }));
  });
}

export async function restoreWakeOnLan(o: { ethtool: string; iface?: string }): Promise<WolCondition> {
  const iface = o.iface ?? defaultRouteInterface();
  if (!iface) return { status: 'False', reason: 'NoInterface', message: 'no network interface to set wake-on-LAN on (no default route; set --wol-interface)' };
  const shown = await run(o.ethtool, [iface]);
  if (!shown.ok && shown.code === 'ENOENT') return { status: 'False', reason: 'NoEthtool', message: `${o.ethtool} is not installed (apt-get install ethtool); wake-on-LAN of ${iface} was not restored` };
  if (!shown.ok && !shown.out) return { status: 'False', reason: 'Failed', message: `${o.ethtool} ${iface} failed: ${shown.err || `exit ${shown.code}`}` };
  const step = wolStep(iface, parseEthtool(shown.out));
  if (!step.set) return step.condition;
  const set = await run(o.ethtool, ['-s', iface, 'wol', 'g']);
  if (!set.ok) return { status: 'False', reason: 'Failed', message: `${o.ethtool} -s ${iface} wol g failed: ${set.err || `exit ${set.code}`}` };
  return { status: 'True', reason: 'Restored', message: `wake-on-LAN by magic packet restored on ${iface} (ethtool -s ${iface} wol g)` };
}

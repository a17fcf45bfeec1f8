// The imperative shell of power saving: once the planner's decision (a node's new phase) is
// written, power the node off or on. Wake-on-LAN sends the magic packet; commands run without
// a shell, with the node's name and address as their last two arguments, and are killed at
// their timeout. Each outcome is the node's PowerAction condition; a failure is a Warning event
// too, and the next pass reacts (a node that would not power off is Ready again, one that would
// not power on is NotReady).
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Condition, Logger, Node, PowerSettings, Store } from '../../../crds/api/index.js';
import { guaranteedUpdateStatus, rfc3339 } from '../../../crds/api/index.js';
import type { PowerCommand } from './decide.js';
import { magicPacket } from '../../../crds/api/wol.js';

/** Sends one magic packet for `mac` to broadcast:port over UDP. */
export async function sendWakeOnLan(mac: string, broadcast = '255.255.255.255', port = 9): Promise<void> {
  const packet = magicPacket(mac);
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      // To loopback (tests) from loopback: nothing listens on another address for it.
      if (broadcast.startsWith('127.')) sock.bind({ address: '127.0.0.1', port: 0 }, resolve);
      else sock.bind(0, resolve);
    });
    sock.setBroadcast(true);
    await new Promise<void>((resolve, reject) => sock.send(packet, port, broadcast, (err) => (err ? reject(err) : resolve())));
  } finally {
    sock.close();
  }
}

export interface CommandResult {
  ok: boolean;
  /** What happened, for the condition and the event: exit code, signal, timeout, and the start of stderr. */
  message: string;
}

/** Runs argv + args without a shell; killed (SIGKILL) after timeoutMs. Never throws. */
export function runCommand(argv: string[], args: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(argv[0], [...argv.slice(1), ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, _stdout, stderr) => {
      const tail = String(stderr).trim().slice(0, 300);
      const cmd = [argv[0], ...args].join(' ');
      if (!err) return resolve({ ok: true, message: `${cmd} exited 0` });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string; code?: number | string };
      const why = e.killed && e.signal === 'SIGKILL' ? `timed out after ${timeoutMs / 1000}s and was killed`
        : typeof e.code === 'string' ? `could not be run (${e.code})`
        : e.signal ? `was killed by ${e.signal}` : `exited ${e.code}`;
      resolve({ ok: false, message: `${cmd} ${why}${tail ? `: ${tail}` : ''}` });
    });
  });
}

export interface PowerActorOptions {
  store: Store;
  log: Logger;
  /** The settings and the node as the operator's cache has them now. */
  settings: () => PowerSettings;
  node: (name: string) => Node | undefined;
  now?: () => number;
  source?: string;
  /** Counts outcomes (metrics, in the operator's shell). */
  observe?: (what: PowerCommand, ok: boolean) => void;
}

export class PowerActor {
  private readonly running = new Set<Promise<void>>();
  constructor(private readonly opts: PowerActorOptions) {}

  /** Starts powering the node off or on; the outcome lands in its status and events. */
  act(name: string, what: PowerCommand): void {
    const p = this.run(name, what).catch((err) => this.opts.log.error({ err, node: name, power: what }, 'power action: recording its outcome failed'));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /**
   * At a new leadership: power commands decided (the phase written) whose outcome was never
   * recorded, because the last leader stopped in between, are carried out again. Powering on
   * or off twice is harmless; never doing it would leave the node Resuming until its timeout.
   */
  resumeUnfinished(nodes: Iterable<{ node: Node }>): void {
    for (const { node } of nodes) {
      const st = node.status;
      const what: PowerCommand | undefined = st?.phase === 'Resuming' ? 'on' : st?.phase === 'PoweringOff' ? 'off' : undefined;
      const name = node.metadata.name;
      if (!what || !st || !name) continue;
      const decided = Date.parse((what === 'on' ? st.power?.lastOnTime : st.power?.lastOffTime) ?? '');
      const done = Date.parse(st.conditions?.find((c) => c.type === 'PowerAction')?.lastTransitionTime ?? '');
      if (!(done >= decided - 1000)) this.act(name, what);
    }
  }

  /** Waits for the actions under way (at stop). */
  async idle(): Promise<void> {
    await Promise.all([...this.running]);
  }

  private async run(name: string, what: PowerCommand): Promise<void> {
    const { log, store } = this.opts;
    const r = await this.perform(name, what);
    const now = (this.opts.now ?? Date.now)();
    this.opts.observe?.(what, r.ok);
    log[r.ok ? 'info' : 'warn']({ node: name, power: what, ok: r.ok, message: r.message }, `power ${what} ${name}: ${r.ok ? 'done' : 'failed'}`);
    // lastTransitionTime is the action's time even when the status repeats: the planner
    // compares it with the node's lastOffTime / lastOnTime.
    const cond: Condition = { type: 'PowerAction', status: r.ok ? 'True' : 'False', reason: r.ok ? (what === 'off' ? 'PoweredOff' : 'PoweredOn') : what === 'off' ? 'PowerOffFailed' : 'PowerOnFailed', message: r.message, lastTransitionTime: rfc3339(now) };
    await guaranteedUpdateStatus(store, { kind: 'Node', name }, (st) => ({ ...st, conditions: [...(st?.conditions ?? []).filter((c) => c.type !== 'PowerAction'), cond] }));
    if (!r.ok) await store.recordEvent({ time: new Date(now).toISOString(), kind: 'Node', name, type: 'Warning', reason: cond.reason!, message: `power ${what} of node ${name} failed: ${r.message}`, source: this.opts.source ?? 'kiwi-operator' });
  }

  private async perform(name: string, what: PowerCommand): Promise<CommandResult> {
    const s = this.opts.settings();
    const node = this.opts.node(name);
    const address = node?.spec?.address ?? name;
    const argv = what === 'off' ? s.commands.powerOff : s.commands.powerOn;
    if (what === 'on' && s.action === 'wakeOnLan') {
      const w = node?.spec?.wakeOnLan;
      if (!w?.mac) return { ok: false, message: `node ${name} has no spec.wakeOnLan.mac to send the magic packet to` };
      try {
        await sendWakeOnLan(w.mac, w.broadcast, w.port);
        return { ok: true, message: `magic packet for ${w.mac} sent to ${w.broadcast ?? '255.255.255.255'}:${w.port ?? 9}` };
      } catch (e) {
        return { ok: false, message: `magic packet for ${w.mac} could not be sent: ${(e as Error).message}` };
      }
    }
    if (what === 'off' && !argv && s.action === 'wakeOnLan') return { ok: true, message: `left to node ${name}'s daemon, which powers its machine off when its Node is PoweringOff` };
    if (!argv) return { ok: false, message: `spec.power.commands.${what === 'off' ? 'powerOff' : 'powerOn'} is not set` };
    return runCommand(argv, [name, address], s.commands.timeout * 1000);
  }
}

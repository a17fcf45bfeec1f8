// The node daemon: wiring of the pure decisions (decide/) to /proc and signals (enforce/),
// etcd (watch/, register/) and the state file. Level-triggered: every tick reads the local
// view and the clock, decides, and does; a tick runs at each planned moment (a start, an end,
// a warning), on every change of the own keys, and at least twice a second against clock jumps.
import { hostname } from 'node:os';
import type { Etcd3 } from 'etcd3';
import { connect, effectiveConfig, effectivePower, Store, type PowerSettings, type Calendar, type EtcdConfig, type ClusterConfig, type EffectiveConfig, type Logger, type Node, type CalendarEntry } from '../../crds/api/index.js';
import type { LocalView } from './view.js';
import { doneKey, dueCleanups, heldAgain, isActive, protectedReason, pruneDone, track, whoToKill, type Tracked } from './decide/kill.js';
import { endSignalsDue, nextWake, pruneSent, warningsDue } from './decide/timers.js';
import { idleState, idleWarning, observeActivity, type IdleTrack } from './decide/idle.js';
import { sampleActivity } from './enforce/activity.js';
import { currentBooking, estimateSkew, type ClockSample, type OwnedStatus } from './decide/status.js';
import { BookingCgroups } from './enforce/cgroup.js';
import { adoptUser, signalUser, sweepUser, warnUser, type Guard } from './enforce/sweep.js';
import { cmdline, listProcs, uidOf } from './enforce/procs.js';
import { removeIpcOf } from './enforce/ipc.js';
import { ownerOf } from './enforce/owner.js';
import { OwnKeysWatch } from './watch/ownkeys.js';
import { loadState, saveState, type DaemonState } from './watch/state.js';
import { ensureNode, writeOwnedStatus } from './register/node.js';
import { detectCapacity } from './register/capacity.js';
import { Heartbeat } from './register/heartbeat.js';
import { sampleEtcdClock } from './register/clock.js';
import { DAEMON_VERSION } from './version.js';
import { restoreWakeOnLan } from './register/wol.js';
import { selfPowerOffDue } from './decide/power.js';
import { execFile } from 'node:child_process';
import { systemUsers } from '../../crds/api/nss.js';
import { systemTool } from '../../crds/api/tools.js';
import { countRejections, type DaemonMetrics } from '../../crds/api/metrics.js';

export interface DaemonOptions {
  node: string;
  /** Address users ssh to, written into a newly registered Node (default: the node name). */
  address?: string;
  endpoints: string[];
  /** [security] etcd user and TLS (crds/api/etcd.ts etcdSecurity). */
  etcdSecurity?: Pick<EtcdConfig, 'auth' | 'tls'>;
  stateDir: string;
  leaseTtlSeconds: number;
  log: Logger;
  /** Test-mode guard: only users whose name matches are ever signalled. */
  onlyUsers?: RegExp;
  /** Test seam (see enforce/sweep.ts): pids never signalled, to exercise the drain path. */
  spare?: (pid: number) => boolean;
  /** How long SIGKILL rounds go on before the node is drained (ms). */
  cleanupTimeoutMs?: number;
  /** Period of the heartbeatTime/status write (ms). */
  statusIntervalMs?: number;
  /** Period of the check that the view matches etcd (ms). */
  confirmIntervalMs?: number;
  /** Period of moving an active booking's processes into its cgroup (ms). */
  adoptIntervalMs?: number;
  /** false: never use cgroups, only the /proc sweep. */
  cgroups?: boolean;
  /** The daemon's clock (default Date.now). One clock for every decision. */
  now?: () => number;
  /** Counted into when given (crds/api/metrics.ts daemonMetrics). */
  metrics?: DaemonMetrics;
  /** Period of measuring the activity of users whose bookings opted in to idle release (ms). */
  idleSampleMs?: number;
  /** Restore wake-on-LAN at start with this ethtool (absolute path) on this interface (default: the default route's); false: do not. */
  wakeOnLan?: { ethtool: string; iface?: string } | false;
  /** Powers the machine off when power saving asks the daemon to (absolute path; default /usr/sbin/poweroff). */
  powerOffCommand?: string;
}

export type ConfigHook = (config: EffectiveConfig, view: LocalView) => void | Promise<void>;
export type ViewHook = (view: LocalView) => void;

interface Failure {
  message: string;
  at: number;
}

export class Daemon {
  readonly log: Logger;
  readonly now: () => number;
  private state: DaemonState;
  private etcd: Etcd3 | undefined;
  /** The etcd client, once start() has made it (the db-size metric shares it). */
  get etcdClient(): Etcd3 | undefined {
    return this.etcd;
  }
  private store: Store | undefined;
  private watch: OwnKeysWatch | undefined;
  private heartbeat: Heartbeat | undefined;
  /** The booking cgroups (enforce/cgroup.ts), shared with the PAM session adoption. */
  readonly cgroups: BookingCgroups | undefined;
  private readonly cgroupProblem: string | undefined;
  private readonly configHooks: ConfigHook[] = [];
  private readonly viewHooks: ViewHook[] = [];
  private readonly sweeping = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private tickTimer: NodeJS.Timeout | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private registered = false;
  private lastAdopt = 0;
  private lastSaved = '';
  private lastSaveError = 0;
  private statusRetryAt = 0;
  private statusDirty = true;
  /** heartbeatTime is to be rewritten even when nothing else changed (every --status-interval). */
  private heartbeatTimeDue = true;
  private statusWriting: Promise<void> | undefined;
  private lastBookingKey = '';
  private cleaned: OwnedStatus['cleaned'];
  private failure: Failure | undefined;
  private clockSamples: ClockSample[] = [];
  private clockSkew: OwnedStatus['clockSkew'];
  private wakeOnLan: OwnedStatus['wakeOnLan'];
  private power: PowerSettings = effectivePower(undefined);
  /** The power-off decision (its lastOffTime) this daemon acted on. */
  private poweredOffFor: string | undefined;
  private readonly capacity = detectCapacity();
  /** Idle release: entry uid -> its user's activity here; what was last reported. */
  private idleTracks = new Map<string, IdleTrack>();
  private lastIdleSample = 0;
  private activity: OwnedStatus['activity'] = [];
  private started = false;
  private syncedOnce = false;

  constructor(readonly opts: DaemonOptions) {
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    const { state, problem } = loadState(opts.stateDir, opts.node);
    if (problem) this.log.warn({ stateDir: opts.stateDir, node: opts.node }, problem);
    this.state = state;
    if (state.drain) this.failure = { message: state.drain, at: this.now() };
    const cg = opts.cgroups === false ? { problem: '--no-cgroups' } : BookingCgroups.open();
    this.cgroups = cg.cgroups;
    this.cgroupProblem = cg.problem;
  }

  // ---- for the other parts of the daemon (PAM server, bypass file) ----

  /** The current local view (a copy): calendar entries, effective config, last sync time. */
  view(): LocalView {
    return structuredClone(this.state.view);
  }

  /** Called with the effective config at start (the persisted one) and whenever it changes. */
  onConfig(fn: ConfigHook): void {
    this.configHooks.push(fn);
  }

  /** Called whenever the view changes (calendar, config, sync time excluded). */
  onView(fn: ViewHook): void {
    this.viewHooks.push(fn);
  }

  /** Ready: enforcing (start() done) and the view synced from etcd at least once since. */
  readiness(): { ready: boolean; detail: string } {
    if (this.stopped) return { ready: false, detail: 'stopping' };
    if (!this.started) return { ready: false, detail: 'starting' };
    if (!this.syncedOnce) return { ready: false, detail: `view not synced from etcd yet (${this.opts.endpoints.join(',')}); enforcing the persisted view` };
    return { ready: true, detail: `node ${this.opts.node}` };
  }

  /** The heartbeat value was rewritten within its TTL (register/heartbeat.ts). */
  heartbeatOk(): boolean {
    return !!this.heartbeat && Date.now() - this.heartbeat.lastOk <= this.opts.leaseTtlSeconds * 1000;
  }

  get guard(): Guard {
    return { config: this.state.view.config, onlyUsers: this.opts.onlyUsers };
  }

  // ---- life cycle ----

  /** Starts enforcing at once from the state file, then connects to etcd in the background. */
  async start(): Promise<void> {
    this.log.info(
      { node: this.opts.node, stateDir: this.opts.stateDir, entries: this.state.view.entries.length, owed: this.state.known.length, cgroup: this.cgroups?.root ?? null, cgroupWhy: this.cgroups?.why ?? this.cgroupProblem, cgroupKill: this.cgroups?.kill ?? false, onlyUsers: this.opts.onlyUsers?.source ?? null, version: DAEMON_VERSION },
      'kiwi-node-daemon starting',
    );
    // Resolved once, here, by absolute path (crds/api/tools.ts): never through PATH.
    this.log.info({ tools: Object.fromEntries(['getent', 'setpriv', 'kill', 'ipcrm', 'rm', 'nvidia-smi'].map((n) => [n, systemTool(n) ?? null])) }, 'system tools');
    await this.runConfigHooks();
    this.removeStaleCgroups();
    if (this.opts.wakeOnLan) void this.restoreWakeOnLan(this.opts.wakeOnLan);
    this.tick();
    this.etcd = connect({ endpoints: this.opts.endpoints, callTimeoutMs: 3000, dialTimeoutMs: 3000, ...this.opts.etcdSecurity });
    const m = this.opts.metrics;
    const store = new Store(this.etcd, { endpoints: this.opts.endpoints, retries: 2 });
    this.store = m ? countRejections(store, (op) => m.etcdErrors.inc({ op })) : store;
    this.watch = new OwnKeysWatch(this.store, this.opts.node, {
      onCalendar: (cal) => this.onCalendar(cal),
      onNode: (node) => this.onNode(node),
      onConfig: (cc) => this.onClusterConfig(cc),
      onSynced: (at) => {
        this.state.view.syncedAt = at;
        this.syncedOnce = true;
      },
    }, this.log, this.now);
    void this.registerLoop();
    const synced = await this.watch.start(2000);
    if (!synced) this.log.warn({ endpoints: this.opts.endpoints }, 'etcd not reachable yet; enforcing the persisted view meanwhile');
    this.every(this.opts.confirmIntervalMs ?? 5000, async () => {
      await this.watch?.confirm();
      this.persist();
    });
    this.every(this.opts.statusIntervalMs ?? 30_000, async () => {
      await this.sampleClock();
      this.statusDirty = true;
      this.heartbeatTimeDue = true;
      await this.flushStatus();
    });
    this.every(1000, () => this.flushStatus());
    this.started = true;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.log.info({ node: this.opts.node }, 'kiwi-node-daemon stopping');
    clearTimeout(this.tickTimer);
    for (const t of this.timers) clearInterval(t);
    this.abort.abort();
    await Promise.race([Promise.all(this.sweeping.values()), new Promise((r) => setTimeout(r, 3000).unref())]);
    await this.watch?.stop();
    await this.heartbeat?.stop();
    if (this.statusWriting) await Promise.race([this.statusWriting, new Promise((r) => setTimeout(r, 2000).unref())]);
    this.persist(true);
    this.etcd?.close();
  }

  private every(ms: number, fn: () => unknown): void {
    const t = setInterval(() => {
      if (this.stopped) return;
      Promise.resolve()
        .then(fn)
        .catch((err) => this.log.warn({ err, node: this.opts.node }, 'periodic task failed; will retry'));
    }, ms);
    this.timers.push(t);
  }

  private async registerLoop(): Promise<void> {
    let delay = 200;
    while (!this.stopped && !this.registered) {
      try {
        await ensureNode(this.store!, { node: this.opts.node, address: this.opts.address ?? this.opts.node }, this.log);
        if (this.stopped) return;
        this.registered = true;
        this.heartbeat = new Heartbeat(this.etcd!, this.opts.node, this.opts.leaseTtlSeconds, DAEMON_VERSION, this.log);
        this.heartbeat.start();
        // The first status write may set phase Ready (a Node without a phase): only once the
        // heartbeat is there, or the operator would see Ready without one and flap NotReady.
        await this.heartbeat.waitWritten(3000);
        this.statusDirty = true;
        await this.flushStatus();
        await this.sampleClock().catch(() => undefined);
        await this.flushStatus();
      } catch (err) {
        this.log.warn({ err, node: this.opts.node }, 'cannot register the node yet; retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  // ---- own keys ----

  private onCalendar(cal: Calendar | undefined): void {
    const entries = [...(cal?.entries ?? [])].sort((a, b) => a.start - b.start);
    if (JSON.stringify(entries) === JSON.stringify(this.state.view.entries)) return;
    this.state.view.entries = entries;
    this.log.info({ node: this.opts.node, entries: entries.map((e) => ({ booking: e.booking, user: e.user, start: new Date(e.start).toISOString(), end: new Date(e.end).toISOString() })) }, 'calendar changed');
    this.changed();
  }

  private onClusterConfig(cc: ClusterConfig | undefined): void {
    this.power = effectivePower(cc);
    const cfg = effectiveConfig(cc);
    if (JSON.stringify(cfg) === JSON.stringify(this.state.view.config)) return;
    this.state.view.config = cfg;
    this.log.info({ config: cfg }, 'cluster config changed');
    void this.runConfigHooks();
    this.changed();
  }

  private onNode(node: Node | undefined): void {
    if (!node && this.registered) this.log.warn({ node: this.opts.node }, 'this Node was deleted from etcd; restart the daemon to register it again');
    const due = selfPowerOffDue(node?.status, this.power, this.state.view.entries, this.now(), this.poweredOffFor);
    if (due) this.powerOff(due);
  }

  /** Power saving asked this daemon to power its machine off (action wakeOnLan, no powerOff command). */
  private powerOff(decision: string): void {
    this.poweredOffFor = decision;
    const cmd = this.opts.powerOffCommand ?? '/usr/sbin/poweroff';
    this.log.warn({ node: this.opts.node, command: cmd, decision }, 'power saving: powering this machine off');
    execFile(cmd, [], { env: {}, timeout: 60_000, killSignal: 'SIGKILL' }, (err, _o, stderr) => {
      if (err) this.log.error({ err, node: this.opts.node, command: cmd, stderr: String(stderr).slice(0, 300) }, 'power saving: powering this machine off failed; the operator sets it Ready again after resumeTimeout');
    });
  }

  private async restoreWakeOnLan(o: { ethtool: string; iface?: string }): Promise<void> {
    this.wakeOnLan = await restoreWakeOnLan(o);
    this.log[this.wakeOnLan.status === 'True' ? 'info' : 'warn']({ node: this.opts.node, wakeOnLan: this.wakeOnLan }, `wake-on-LAN: ${this.wakeOnLan.message}`);
    this.statusDirty = true;
    await this.flushStatus();
  }

  private async runConfigHooks(): Promise<void> {
    for (const h of this.configHooks) {
      try {
        await h(this.view().config, this.view());
      } catch (err) {
        this.log.error({ err, config: this.state.view.config }, 'config hook failed');
      }
    }
  }

  private changed(): void {
    this.persist();
    const v = this.view();
    for (const h of this.viewHooks) {
      try {
        h(v);
      } catch (err) {
        this.log.error({ err }, 'view hook failed');
      }
    }
    this.tick();
  }

  private persist(force = false): void {
    const s: DaemonState = { ...this.state, ...(this.failure ? { drain: this.failure.message } : {}), savedAt: 0 };
    const text = JSON.stringify({ ...s, view: { ...s.view, syncedAt: 0 } });
    if (!force && text === this.lastSaved) return;
    try {
      saveState(this.opts.stateDir, { ...s, savedAt: this.now() });
      this.lastSaved = text;
    } catch (err) {
      if (Date.now() - this.lastSaveError > 60_000) {
        this.lastSaveError = Date.now();
        this.log.error({ err, stateDir: this.opts.stateDir }, 'cannot write the state file; a restart would not know the last view');
      }
    }
  }

  // ---- the tick ----

  /** Decides and acts on the local view at the daemon's own clock; schedules the next tick. */
  tick(): void {
    if (this.stopped) return;
    clearTimeout(this.tickTimer);
    const now = this.now();
    const v = this.state.view;
    try {
      this.state.done = pruneDone(this.state.done, v.entries);
      this.state.known = track(this.state.known, v.entries, now, new Set(this.state.done));
      this.cleanupDue(now);
      this.warnAndSignal(now);
      this.measureIdle(now);
      this.adopt(now);
      const b = currentBooking(v.entries, now);
      const bk = JSON.stringify(b ?? null);
      if (bk !== this.lastBookingKey) {
        this.lastBookingKey = bk;
        this.statusDirty = true;
        void this.flushStatus();
      }
      this.state.sent = [...pruneSent(this.state.sent, this.state.known)];
      this.persist();
    } catch (err) {
      this.log.error({ err, node: this.opts.node }, 'tick failed');
    }
    const wake = nextWake(this.state.known, v.entries, v.config, now);
    const delay = Math.max(1, Math.min(wake !== undefined ? wake - now : Infinity, 500));
    this.tickTimer = setTimeout(() => this.tick(), delay);
  }

  private cleanupDue(now: number): void {
    const due = dueCleanups(this.state.known, now).filter((k) => !this.sweeping.has(k.user));
    if (!due.length) return;
    const cfg = this.state.view.config;
    const { kill, spared } = whoToKill({ due, entries: this.state.view.entries, procs: listProcs(), config: cfg, now, users: systemUsers().lookup, onlyUsers: this.opts.onlyUsers });
    for (const s of spared) {
      this.log.info({ user: s.user, bookings: s.bookings, reason: s.reason }, `not cleaning up: ${s.message}`);
      this.forget(s.entryUids);
    }
    for (const t of kill) {
      const entries = due.filter((d) => t.entryUids.includes(d.uid));
      this.log.info({ user: t.user, uid: t.uid, bookings: t.bookings, pids: t.pids, reason: t.reason, lateMs: Math.max(0, now - Math.min(...entries.map((e) => e.end))) }, 'cleaning up');
      const p = this.sweep(t.user, t.uid, t.bookings, t.entryUids, entries).finally(() => {
        this.sweeping.delete(t.user);
        this.tick();
      });
      this.sweeping.set(t.user, p);
    }
  }

  private async sweep(user: string, uid: number, bookings: string[], entryUids: string[], entries: Tracked[]): Promise<void> {
    const cfg = this.state.view.config;
    let r;
    try {
      r = await sweepUser({
        user, uid, entryUids,
        killWaitMs: cfg.killWaitSeconds * 1000,
        timeoutMs: this.opts.cleanupTimeoutMs ?? 30_000,
        guard: this.guard,
        cgroups: this.cgroups,
        log: this.log,
        spare: this.opts.spare,
        signal: this.abort.signal,
        heldAgain: () => this.heldAgain(user, entryUids)?.booking,
      });
    } catch (err) {
      this.log.error({ err, user, bookings }, 'cleanup refused');
      this.forget(entryUids);
      return;
    }
    if (r.aborted) {
      this.log.info({ user, bookings, leftover: r.leftover }, 'cleanup interrupted by shutdown; it resumes on restart');
      return;
    }
    const end = Math.min(...entries.map((e) => e.end));
    const m = this.opts.metrics;
    if (m) {
      m.cleanupDuration.observe({ result: r.ok ? 'ok' : 'failed' }, r.durationMs / 1000);
      m.cleanupLeftover.set(r.leftover.length);
      if (r.seen) m.processesKilled.inc({ signal: 'sweep' }, r.seen);
      if (!r.ok) m.cleanupFailures.inc();
    }
    if (r.heldAgain) {
      this.log.info({ user, bookings, heldAgain: r.heldAgain, processes: r.seen, durationMs: r.durationMs }, `stopped cleaning up: ${user} holds booking ${r.heldAgain} now`);
    } else if (r.ok) {
      this.removeIpc(user, uid, entryUids);
      this.log.info({ user, bookings, processes: r.seen, durationMs: r.durationMs, cgroupKill: r.usedCgroupKill, afterEndMs: this.now() - end }, 'cleaned up');
      this.cleaned = { status: 'True', reason: 'CleanedUp', message: `${bookings.join(', ')}: ${r.seen} processes of ${user} ended` };
    } else {
      const survivors = r.leftover.slice(0, 10).map((pid) => `${pid} (${cmdline(pid).slice(0, 40) || '?'})`);
      const more = r.leftover.length > 10 ? ` and ${r.leftover.length - 10} more` : '';
      const msg = `cleanup of ${user} after ${bookings.join(', ')} failed: pids ${survivors.join(', ')}${more} still alive ${Math.round(r.durationMs / 1000)}s after the first signal`;
      this.log.error({ user, bookings, leftover: r.leftover, durationMs: r.durationMs }, `${msg}; draining the node`);
      this.cleaned = { status: 'False', reason: 'CleanupFailed', message: msg };
      this.failure = { message: msg, at: this.now() };
    }
    this.forget(entryUids);
    this.statusDirty = true;
    this.persist();
    void this.flushStatus();
  }

  /** The user's active booking other than the ended ones, by the daemon's view now. */
  private heldAgain(user: string, entryUids: string[]): CalendarEntry | undefined {
    return heldAgain(this.state.view.entries, user, this.now(), entryUids);
  }

  /** After a cleanup: the user's SysV IPC and POSIX shm/mqueue objects (logind's RemoveIPC), unless they hold a booking again. */
  private removeIpc(user: string, uid: number, entryUids: string[]): void {
    const again = this.heldAgain(user, entryUids);
    if (again) return void this.log.info({ user, booking: again.booking }, 'not removing IPC objects: the user holds another active booking');
    try {
      const r = removeIpcOf(ownerOf(user, uid));
      if (r.sysv.length || r.files.length || r.failed.length) this.log.info({ user, sysv: r.sysv.map((o) => `${o.kind} ${o.id}`), files: r.files, failed: r.failed }, 'removed the user\'s IPC objects');
    } catch (err) {
      this.log.warn({ err, user }, 'cannot remove the user\'s IPC objects');
    }
  }

  /** Marks cleanups finished (or not needed): they are not tracked again. */
  private forget(entryUids: string[]): void {
    for (const k of this.state.known) if (entryUids.includes(k.uid)) this.state.done.push(doneKey(k));
    this.state.known = this.state.known.filter((k) => !entryUids.includes(k.uid));
  }

  private warnAndSignal(now: number): void {
    const v = this.state.view;
    const sent = new Set(this.state.sent);
    for (const w of warningsDue(v.entries, v.config, now, sent)) {
      this.state.sent.push(w.key);
      const uid = uidOf(w.user);
      if (uid === undefined || protectedReason(w.user, uid, v.config, this.opts.onlyUsers)) continue;
      const ttys = warnUser(uid, w.message);
      this.log.info({ user: w.user, booking: w.booking, secondsLeft: w.secondsLeft, ttys }, 'warned the user of the end');
    }
    for (const s of endSignalsDue(v.entries, now, sent)) {
      this.state.sent.push(s.key);
      const uid = uidOf(s.user);
      if (uid === undefined || protectedReason(s.user, uid, v.config, this.opts.onlyUsers)) continue;
      try {
        const n = signalUser(s.user, uid, s.signal, this.guard, this.opts.spare);
        if (n) this.opts.metrics?.processesKilled.inc({ signal: s.signal }, n);
        this.log.info({ user: s.user, booking: s.booking, signal: s.signal, processes: n }, 'sent the end signal the booking asked for');
      } catch (err) {
        this.log.error({ err, user: s.user, booking: s.booking }, 'cannot send the end signal');
      }
    }
  }

  /**
   * Idle release: samples the activity of the users of active entries that opted in, warns their
   * terminals when idle release nears, and reports since when each is idle here in the Node
   * status (written only when that changes). The operator decides the end from every node's report.
   */
  private measureIdle(now: number): void {
    if (now - this.lastIdleSample < (this.opts.idleSampleMs ?? 10_000)) return;
    this.lastIdleSample = now;
    const v = this.state.view;
    const tracks = new Map<string, IdleTrack>();
    const report: NonNullable<OwnedStatus['activity']> = [];
    const sent = new Set(this.state.sent);
    for (const e of v.entries) {
      if (!e.idle || !isActive(e, now)) continue;
      const uid = uidOf(e.user);
      if (uid === undefined || protectedReason(e.user, uid, v.config, this.opts.onlyUsers)) continue; // never reported idle
      const track = observeActivity(this.idleTracks.get(e.uid), sampleActivity(uid, now), e.idle);
      tracks.set(e.uid, track);
      const d = idleState(track, e.idle, now);
      report.push({ booking: e.booking, entryUid: e.uid, ...(d.idleSince !== undefined ? { idleSince: new Date(d.idleSince).toISOString() } : {}) });
      if (d.state === 'warn' || d.state === 'end') {
        const w = idleWarning(e, d);
        if (sent.has(w.key)) continue;
        this.state.sent.push(w.key);
        const ttys = warnUser(uid, w.message);
        this.log.info({ user: e.user, booking: e.booking, idleSince: report.at(-1)!.idleSince, endAt: new Date(d.endAt).toISOString(), ttys }, 'warned the user of the idle release');
      }
    }
    this.idleTracks = tracks;
    if (JSON.stringify(report) === JSON.stringify(this.activity)) return;
    this.log.info({ node: this.opts.node, activity: report }, 'activity report changed');
    this.activity = report;
    this.statusDirty = true;
    void this.flushStatus();
  }

  /** Moves the processes of active bookings' users into their booking cgroups. */
  private adopt(now: number): void {
    if (!this.cgroups || now - this.lastAdopt < (this.opts.adoptIntervalMs ?? 2000)) return;
    this.lastAdopt = now;
    for (const e of this.state.view.entries) {
      if (!isActive(e, now)) continue;
      const uid = uidOf(e.user);
      if (uid === undefined) continue;
      try {
        adoptUser(e.user, uid, e.uid, this.cgroups, this.guard, this.opts.spare);
      } catch (err) {
        this.log.warn({ err, booking: e.booking, user: e.user }, 'cannot move processes into the booking cgroup');
      }
    }
  }

  /** Removes empty booking cgroups of bookings no longer tracked (left by a crash, say). */
  private removeStaleCgroups(): void {
    if (!this.cgroups) return;
    const keep = new Set([...this.state.known, ...this.state.view.entries].map((e) => e.uid));
    for (const name of this.cgroups.list()) {
      if (!keep.has(name) && this.cgroups.remove(name)) this.log.debug({ cgroup: `${this.cgroups.root}/${name}` }, 'removed a stale booking cgroup');
    }
  }

  // ---- status ----

  private async sampleClock(): Promise<void> {
    const s = await sampleEtcdClock(this.opts.endpoints[0], this.now).catch(() => undefined);
    if (s) this.clockSamples = [...this.clockSamples, s].slice(-5);
    const est = estimateSkew(this.clockSamples, this.state.view.config.clockSkewSeconds);
    const next: OwnedStatus['clockSkew'] =
      est.skewed === true ? { status: 'True', reason: 'ClockOff', message: est.message }
      : est.skewed === false ? { status: 'False', reason: 'ClockInSync', message: est.message }
      : { status: 'Unknown', reason: 'Uncertain', message: est.message };
    if (JSON.stringify(next) !== JSON.stringify(this.clockSkew)) {
      if (next.status === 'True') this.log.warn({ node: this.opts.node, offsetMs: [est.low, est.high] }, est.message);
      this.clockSkew = next;
      this.statusDirty = true;
    }
  }

  private flushStatus(): Promise<void> {
    if (!this.statusDirty || !this.registered || !this.store || this.stopped || Date.now() < this.statusRetryAt) return Promise.resolve();
    if (this.statusWriting) return this.statusWriting;
    this.statusDirty = false;
    const force = this.heartbeatTimeDue;
    this.heartbeatTimeDue = false;
    const want: OwnedStatus = {
      capacity: this.capacity,
      daemonVersion: DAEMON_VERSION,
      heartbeatTime: this.now(),
      booking: currentBooking(this.state.view.entries, this.now()),
      cleaned: this.cleaned,
      clockSkew: this.clockSkew,
      wakeOnLan: this.wakeOnLan,
      drain: this.failure?.message,
      activity: this.activity,
    };
    this.statusWriting = writeOwnedStatus(this.store, this.opts.node, want, this.now, { force })
      .then((s) => {
        this.log.debug({ node: this.opts.node, phase: s?.phase, booking: s?.booking?.name ?? null, conditions: s?.conditions?.map((c) => `${c.type}=${c.status}`) }, 'node status written');
        if (s && this.failure && s.phase === 'Drained') {
          // recorded in etcd: the state file need not carry it any more
          this.failure = undefined;
          delete this.state.drain;
          this.persist();
        }
      })
      .catch((err) => {
        this.statusDirty = true;
        if (force) this.heartbeatTimeDue = true;
        this.statusRetryAt = Date.now() + 5000;
        this.log.warn({ err, node: this.opts.node }, 'cannot write the node status; will retry');
      })
      .finally(() => (this.statusWriting = undefined));
    return this.statusWriting;
  }
}

export function defaultNodeName(): string {
  return hostname().split('.')[0];
}

/** The test seam: never signal processes whose command line contains `mark`. */
export function spareByCmdline(mark: string): (pid: number) => boolean {
  return (pid) => cmdline(pid).includes(mark);
}

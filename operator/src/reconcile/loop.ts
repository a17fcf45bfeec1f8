// A controller's pass loop beside the planner (notifications, schedules): one pass at a time,
// again when poked (at most every minPauseMs, so a burst of pokes is one pass), at a time the
// last pass asked for, or every intervalMs at the latest. A failed pass is logged and retried at
// the next turn; the loop never throws.
import type { Logger } from '../../../crds/api/index.js';
import type { Clock } from './index.js';

export interface PassLoopOptions {
  name: string;
  log: Logger;
  clock: Clock;
  intervalMs: number;
  minPauseMs?: number;
  /** When the next pass is due regardless of pokes (epoch ms; Infinity: none). */
  dueAt?: () => number;
}

export class PassLoop {
  private stopped = false;
  private dirty = true;
  private wake?: () => void;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly pass: () => Promise<void>, private readonly opts: PassLoopOptions) {}

  start(): void {
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  get live(): boolean {
    return !this.stopped;
  }

  /** Something changed: pass again soon. */
  poke(): void {
    this.dirty = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    const { clock, intervalMs, minPauseMs = 200 } = this.opts;
    while (!this.stopped) {
      this.dirty = false;
      const started = clock.now();
      await this.pass().catch((err) => this.opts.log.warn({ err }, `${this.opts.name}: pass failed; trying again at the next`));
      if (this.stopped) return;
      const until = Math.min(this.opts.dueAt?.() ?? Infinity, started + intervalMs);
      await this.sleep(this.dirty ? minPauseMs : Math.max(0, until - clock.now()));
      if (this.dirty && !this.stopped) await this.sleep(Math.max(0, started + minPauseMs - clock.now()), false);
    }
  }

  private sleep(ms: number, wakeable = true): Promise<void> {
    return new Promise<void>((r) => {
      if (wakeable) this.wake = r;
      this.timer = setTimeout(r, ms);
    }).finally(() => clearTimeout(this.timer));
  }
}

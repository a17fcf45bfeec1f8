// kiwictl dev up|down|status: a local single-member etcd for trying Kiwi out and for tests.
// State (data, pid file, state.json with the endpoint, log) lives in the state dir: --state-dir,
// else $KIWI_DEV_STATE_DIR, else /var/lib/kiwi/dev for root, else ~/.local/state/kiwi/dev.
// kiwictl's other verbs use the endpoint recorded there when nothing else names one.
import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import { devFiles, devStateDir } from '../../client/paths.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { aptInstallEtcd, clearState, findOnPath, healthy, pickPort, portFree, runningDevEtcd, startDevEtcd, stopPid } from './etcd.js';
import { readDevState } from '../../client/endpoints.js';

const port = (text: string | undefined, flag: string, def: number) => {
  if (text === undefined) return def;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw usage(`${flag} ${text}: not a port number (1-65535)`);
  return n;
};

export class DevUpOptions implements Options {
  stateDir = '';
  port = 2379;
  peerPort = 2380;
  install = false;
  /** Ports given on the command line are used as given (or refused); defaults yield to a free port. */
  explicit = { port: false, peerPort: false };

  complete(_args: string[], flags: { port?: string; peerPort?: string; install?: boolean }, ctx: Ctx): void {
    this.stateDir = devStateDir(ctx.globals.stateDir);
    this.explicit = { port: flags.port !== undefined, peerPort: flags.peerPort !== undefined };
    this.port = port(flags.port, '--port', 2379);
    this.peerPort = port(flags.peerPort, '--peer-port', 2380);
    this.install = Boolean(flags.install);
  }

  validate(): void {
    if (this.port === this.peerPort) throw usage('--port and --peer-port must differ');
  }

  async run(ctx: Ctx): Promise<void> {
    const running = runningDevEtcd(this.stateDir);
    if (running) {
      ctx.out(`dev etcd already running at ${running.endpoint} (pid ${running.pid}, state in ${this.stateDir})\n`);
      return;
    }
    clearState(this.stateDir); // a stale record of an etcd that is gone
    let bin = findOnPath('etcd');
    if (!bin && this.install) {
      if (process.getuid?.() !== 0) throw new Error('--install needs root: run `sudo kiwictl dev up --install`, or `apt-get install etcd-server` yourself');
      ctx.err('etcd is not installed; installing etcd-server and etcd-client with apt-get...\n');
      aptInstallEtcd();
      bin = findOnPath('etcd');
    }
    if (!bin) throw new Error('etcd is not installed (not on PATH): install it with `apt-get install etcd-server` (Debian/Ubuntu), or run `kiwictl dev up --install` as root');
    for (const [flag, p, given] of [['--port', this.port, this.explicit.port], ['--peer-port', this.peerPort, this.explicit.peerPort]] as const)
      if (given && !(await portFree(p))) throw usage(`${flag} ${p}: the port is in use on 127.0.0.1; pick another, or leave the flag out to get a free one`);
    const clientPort = await pickPort(this.port);
    const peerPort = await pickPort(this.peerPort, [clientPort]);
    const st = await startDevEtcd(bin, this.stateDir, clientPort, peerPort);
    ctx.out(
      `dev etcd running at ${st.endpoint} (pid ${st.pid})\n` +
        `  data: ${st.dataDir}\n  log:  ${st.logFile}\n` +
        `kiwictl uses it by default; for other programs: export KIWI_ENDPOINTS=${st.endpoint}\n` +
        'stop it with: kiwictl dev down\n',
    );
  }
}

export class DevDownOptions implements Options {
  stateDir = '';
  graceMs = 5000;
  purge = false;

  complete(_args: string[], flags: { grace?: string; purge?: boolean }, ctx: Ctx): void {
    this.stateDir = devStateDir(ctx.globals.stateDir);
    this.graceMs = Number(flags.grace ?? 5) * 1000;
    this.purge = Boolean(flags.purge);
  }

  validate(): void {
    if (!Number.isFinite(this.graceMs) || this.graceMs < 0) throw usage('--grace takes seconds, e.g. --grace 5');
  }

  async run(ctx: Ctx): Promise<void> {
    const st = runningDevEtcd(this.stateDir);
    if (!st) {
      clearState(this.stateDir);
      ctx.out(`dev etcd is not running (state dir ${this.stateDir})\n`);
    } else {
      const how = await stopPid(st.pid, st.dataDir, this.graceMs);
      clearState(this.stateDir);
      ctx.out(`dev etcd stopped (pid ${st.pid}${how === 'killed' ? ', killed after the grace period' : ''})\n`);
    }
    if (this.purge) {
      rmSync(devFiles(this.stateDir).dataDir, { recursive: true, force: true });
      ctx.out(`removed its data in ${devFiles(this.stateDir).dataDir}\n`);
    }
  }
}

export class DevStatusOptions implements Options {
  stateDir = '';
  complete(_args: string[], _flags: unknown, ctx: Ctx): void {
    this.stateDir = devStateDir(ctx.globals.stateDir);
  }
  validate(): void {}
  async run(ctx: Ctx): Promise<void> {
    const st = runningDevEtcd(this.stateDir);
    if (!st) {
      const stale = readDevState(this.stateDir);
      ctx.out(`dev etcd: not running${stale ? ` (pid ${stale.pid} recorded, but gone)` : ''}\n  state dir: ${this.stateDir}\nstart it with: kiwictl dev up\n`);
      return;
    }
    const ok = await healthy(st.endpoint, 1000);
    ctx.out(
      `dev etcd: running${ok ? '' : ' (but /health does not answer)'}\n` +
        `  endpoint:  ${st.endpoint}\n  pid:       ${st.pid}\n  data dir:  ${st.dataDir}\n  log:       ${st.logFile}\n  since:     ${st.startedAt}\n`,
    );
  }
}

export function registerDev(program: Command): Command {
  const dev = program
    .command('dev')
    .description('Run a local single-member etcd on 127.0.0.1 for trying Kiwi out (up, down, status)')
    .addHelpText(
      'after',
      examples('kiwictl dev up', 'kiwictl get nodes          # uses the dev etcd', 'kiwictl dev status', 'kiwictl dev down --purge') +
        '\nState dir: --state-dir, else $KIWI_DEV_STATE_DIR, else /var/lib/kiwi/dev (root) or ~/.local/state/kiwi/dev.\n',
    );
  dev
    .command('up')
    .description('Start the dev etcd detached (it outlives kiwictl), wait until healthy, print its endpoint')
    .option('--port <port>', 'client port (default 2379, or a free one if taken)')
    .option('--peer-port <port>', 'peer port (default 2380, or a free one if taken)')
    .option('--install', 'as root: apt-get install etcd-server etcd-client if etcd is missing')
    .addHelpText('after', examples('kiwictl dev up', 'kiwictl dev up --port 23790', 'sudo kiwictl dev up --install'))
    .action(verbAction(() => new DevUpOptions()))
    .exitOverride();
  dev
    .command('down')
    .description('Stop the dev etcd: SIGTERM, then SIGKILL after a grace period')
    .option('--grace <seconds>', 'seconds to wait before SIGKILL', '5')
    .option('--purge', 'also remove its data')
    .addHelpText('after', examples('kiwictl dev down', 'kiwictl dev down --purge'))
    .action(verbAction(() => new DevDownOptions()))
    .exitOverride();
  dev
    .command('status')
    .description('Say whether the dev etcd runs, and its endpoint, pid and data dir')
    .addHelpText('after', examples('kiwictl dev status', 'kiwictl --state-dir /tmp/kiwi dev status'))
    .action(verbAction(() => new DevStatusOptions()))
    .exitOverride();
  return dev;
}

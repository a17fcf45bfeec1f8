// Where kiwictl keeps and finds local state: the dev etcd's state dir and the user config file.
// Pure path logic (no I/O) so that `dev` and endpoint resolution agree on the same places.
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * The state dir of `kiwictl dev`: --state-dir, else $KIWI_DEV_STATE_DIR, else /var/lib/kiwi/dev for
 * root (a machine-wide dev etcd), else $XDG_STATE_HOME/kiwi/dev or ~/.local/state/kiwi/dev.
 */
export function devStateDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.KIWI_DEV_STATE_DIR) return env.KIWI_DEV_STATE_DIR;
  if (process.getuid?.() === 0) return '/var/lib/kiwi/dev';
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'kiwi', 'dev');
}

/** The config file: --config, else $KIWI_CONFIG, else ~/.config/kiwi/config.yaml. */
export function configPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.KIWI_CONFIG) return env.KIWI_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'kiwi', 'config.yaml');
}

/** The caller's namespace: a Booking's namespace is its owner's Unix user name. */
export function callerNamespace(): string {
  return userInfo().username;
}

/** Files inside a dev state dir. */
export function devFiles(stateDir: string) {
  return {
    dataDir: join(stateDir, 'data'),
    pidFile: join(stateDir, 'etcd.pid'),
    stateFile: join(stateDir, 'state.json'),
    logFile: join(stateDir, 'etcd.log'),
  };
}

/** What `dev up` records in state.json, and what endpoint resolution reads back. */
export interface DevState {
  pid: number;
  endpoint: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  startedAt: string;
}

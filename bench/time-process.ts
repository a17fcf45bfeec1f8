// Wall time of one whole process with its output read through a pipe, as a user's terminal or
// script reads it: the way every bench times a command, kiwictl or its peer alike.
import { spawnSync } from 'node:child_process';

export interface Timed {
  ms: number;
  /** Lines the process printed on stdout. */
  lines: number;
}

export function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string; input?: string } = {}): Timed {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, env, encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, lines: r.stdout.split('\n').length - 1 };
}

/** etcdctl reading what `kiwictl get nodes` reads: the node specs and statuses, in one transaction. */
export function etcdctlNodes(endpoint: string, env: NodeJS.ProcessEnv): Timed {
  return timeProcess('etcdctl', ['--endpoints', endpoint, 'txn'], { ...env, ETCDCTL_API: '3' }, { input: '\nget --prefix /kiwi/spec/nodes/\nget --prefix /kiwi/status/nodes/\n\n\n' });
}

export const ETCDCTL_NODES = 'etcdctl txn: get --prefix of the node specs and of their statuses (what kiwictl reads)';

// Wall time of one whole process with its output read through a pipe, as a user's terminal or
// script reads it: the way every bench times a command, kiwictl or its peer alike.
import { spawnSync } from 'node:child_process';

export interface Timed {
  ms: number;
  /** Lines the process printed on stdout. */
  lines: number;
}

export function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Timed {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, lines: r.stdout.split('\n').length - 1 };
}

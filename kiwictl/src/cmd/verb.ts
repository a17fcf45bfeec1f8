// The pattern every verb follows (kubectl's Options/Complete/Validate/Run): `complete` turns
// arguments and flags into a filled-in Options object, `validate` refuses bad combinations
// with a usage error, `run` does the work and prints through a Printer. A verb registers its
// commander command with `verbAction(() => new XOptions())` and never handles errors itself:
// main.ts prints every error as `error: <message>` and exits with the error's exitCode.
import type { Command } from 'commander';
import type { Client } from '../client/index.js';
export { usage, UsageError } from '../usage.js';

/** Flags every verb has (defined once on the root program). */
export interface GlobalFlags {
  endpoints?: string;
  config?: string;
  stateDir?: string;
  requestTimeout?: string;
}

/** What a verb's run gets: the etcd client, and the two output streams. */
export interface Ctx {
  globals: GlobalFlags;
  client: Client;
  out: (text: string) => void;
  err: (text: string) => void;
  /**
   * For long-running verbs (get -w, wait): after this call, Ctrl-C (SIGINT) and SIGTERM abort the
   * returned signal so the verb can stop cleanly and exit 0. Other verbs are simply interrupted
   * (exit 130).
   */
  handleInterrupts(): AbortSignal;
}

export interface Options {
  complete(args: string[], flags: Record<string, any>, ctx: Ctx): void | Promise<void>;
  validate(): void;
  run(ctx: Ctx): Promise<void>;
}

/** Set by main.ts: builds the Ctx for a verb from the root program's global flags. */
let makeCtx: (globals: GlobalFlags) => Ctx;
export function setCtxFactory(f: (globals: GlobalFlags) => Ctx): void {
  makeCtx = f;
}

/** The commander action for a verb: complete, validate, run. */
export function verbAction(make: () => Options) {
  return async (...params: unknown[]) => {
    const cmd = params[params.length - 1] as Command;
    const globals = cmd.optsWithGlobals() as GlobalFlags;
    const ctx = makeCtx(globals);
    const o = make();
    await o.complete(cmd.args, cmd.opts(), ctx);
    o.validate();
    await o.run(ctx);
  };
}

/** Collects a repeatable flag (-f a -f b) into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Formats the "Examples:" block of a verb's --help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => (l.startsWith('#') ? `  ${l}` : `  ${l}\n`)).join('\n')}`;
}

// kiwictl: the Kiwi command line. Wiring only: the command tree (program.ts), and the one place
// where errors become `error: <message>` and an exit code.
//
// Start-up matters (`kiwictl get nodes` should cost at most ~3x `node -e 0`): this file and the
// verbs' modules import only light code; etcd3/gRPC, ajv and js-yaml are loaded with
// `await import()` by the verbs that need them, and esbuild puts them in separate chunks.
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

async function main(): Promise<number> {
  const { program, clients } = buildProgram(process.argv.slice(2));
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its own message (or the help) already
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    // An exit code passed on (kiwictl run): the reason was printed already.
    if ((err as any)?.silent && typeof (err as any).exitCode === 'number') return (err as any).exitCode;
    let e: unknown = err;
    for (const c of clients) e = c.explain(await c.explainRevoked(e));
    const problems: string[] = (e as any)?.problems?.length > 1 ? (e as any).problems : [(e as Error)?.message ?? String(e)];
    process.stderr.write(problems.map((p) => `error: ${p}\n`).join(''));
    const code = (e as any)?.exitCode;
    return typeof code === 'number' ? code : 1;
  } finally {
    for (const c of clients) c.close();
  }
}

const code = await main();
// Exit as soon as output is flushed: a closed etcd client can still hold gRPC timers.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

// kiwictl's command tree: the root program, global flags and the verbs (main.ts runs it; tests
// read it, e.g. to check that every command a message suggests parses).
//
// Start-up matters (`kiwictl get nodes` should cost at most ~3x `node -e 0`): this file and the
// verbs' modules import only light code; etcd3/gRPC, ajv and js-yaml are loaded with
// `await import()` by the verbs that need them, and esbuild puts them in separate chunks.
import { Command } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { Client } from './client/index.js';
import { setCtxFactory, usage, type GlobalFlags } from './cmd/verb.js';
import { registerApply } from './cmd/apply/index.js';
import { registerDiff } from './cmd/diff/index.js';
import { registerMan } from './cmd/man/index.js';
import { registerEdit } from './cmd/edit/index.js';
import { registerHistory } from './cmd/history/index.js';
import { registerUsage } from './cmd/usage/index.js';
import { registerAccount } from './cmd/account/index.js';
import { registerNotifications } from './cmd/notifications/index.js';
import { registerAnnotate, registerLabel } from './cmd/label/index.js';
import { registerGet } from './cmd/get/index.js';
import { registerDescribe } from './cmd/describe/index.js';
import { registerDelete } from './cmd/delete/index.js';
import { registerExplain } from './cmd/explain/index.js';
import { registerNode } from './cmd/node/index.js';
import { registerDev } from './cmd/dev/index.js';
import { registerAlloc } from './cmd/alloc/index.js';
import { registerRun } from './cmd/run/index.js';
import { registerKill } from './cmd/kill/index.js';
import { registerExtend } from './cmd/extend/index.js';
import { registerWait } from './cmd/wait/index.js';
import { registerInfo } from './cmd/info/index.js';
import { registerCordon } from './cmd/cordon/index.js';
import { registerUncordon } from './cmd/uncordon/index.js';
import { registerDrain } from './cmd/drain/index.js';
import { registerInit } from './cmd/init/index.js';
import { registerAddNode } from './cmd/add-node/index.js';
import { registerImportKiwi } from './cmd/import-kiwi/index.js';
import { registerCompletion } from './cmd/completion/index.js';
import { registerAdmin } from './cmd/admin/index.js';

const EXIT_CODES = `
Exit codes:
  0  success
  1  other error
  2  invalid input or usage (bad flags, unknown kind, an object that fails validation)
  3  not found
  4  already exists
  5  conflict (somebody else changed the object first: get it again and retry)
  6  etcd unavailable (start one with \`kiwictl dev up\`, or set --endpoints / KIWI_ENDPOINTS)
  7  forbidden
  8  timed out (a --timeout ran out, or the operator did not answer in time)
  9  refused: the cluster said no (a booking Rejected or Busy, an extend refused), or the
     booking is past the point where the verb applies (kill or extend of an Expired booking,
     wait for a phase it can no longer reach)
  130 interrupted (Ctrl-C) before done; \`get -w\` and \`dev\` stop cleanly with 0
  \`kiwictl run\` exits with the remote command's exit code once the command ran.

Endpoints: --endpoints, else $KIWI_ENDPOINTS, else \`endpoints:\` in the config file (--config,
$KIWI_CONFIG, ~/.config/kiwi/config.yaml), else the etcd \`kiwictl dev up\` started, else
http://127.0.0.1:2379.`;

type Register = (program: Command) => Command;

/** Each verb by the name its register function gives it (program.test checks the names). */
export const VERBS: Record<string, Register> = {
  alloc: registerAlloc, run: registerRun, kill: registerKill, extend: registerExtend, wait: registerWait, info: registerInfo, history: registerHistory, usage: registerUsage, account: registerAccount, notifications: registerNotifications,
  apply: registerApply, diff: registerDiff, get: registerGet, describe: registerDescribe, delete: registerDelete, edit: registerEdit, label: registerLabel, annotate: registerAnnotate, explain: registerExplain,
  cordon: registerCordon, uncordon: registerUncordon, drain: registerDrain, init: registerInit, 'add-node': registerAddNode, 'import-kiwi': registerImportKiwi,
  node: registerNode, dev: registerDev, completion: registerCompletion, man: registerMan, admin: registerAdmin,
};
// Verbs that read the whole command tree.
const WHOLE_TREE = new Set(['completion', 'man']);

/**
 * The verb `args` (process.argv without node and the script) runs, if it is one whose command
 * alone can parse them; undefined for help, --version, an unknown word or a verb that needs the
 * whole tree. `valued` are the global options that take a value.
 */
export function verbOf(args: string[], valued: Set<string>): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--') && a.includes('=')) continue;
    if (valued.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) return undefined;
    return Object.hasOwn(VERBS, a) && !WHOLE_TREE.has(a) ? a : undefined;
  }
  return undefined;
}

/**
 * The program; with `args`, only the verb they run is registered when that is enough (see
 * verbOf): setting up all 30 verbs' options cost each command ~4 ms of its start-up.
 */
export function buildProgram(args?: string[]): { program: Command; clients: Client[] } {
  const clients: Client[] = [];
  const interrupts = new Interrupts();
  const program = new Command('kiwictl')
    .description('Book whole nodes of a research cluster: kubectl-style verbs over Kiwi objects in etcd.')
    .option('--endpoints <urls>', 'etcd endpoints, comma-separated (default: see below)')
    .option('--config <file>', 'config file with `endpoints: [...]` (default $KIWI_CONFIG or ~/.config/kiwi/config.yaml)')
    .option('--state-dir <dir>', 'state dir of `kiwictl dev` (default $KIWI_DEV_STATE_DIR, ~/.local/state/kiwi/dev, or /var/lib/kiwi/dev for root)')
    .option('--request-timeout <ms>', 'deadline of one etcd call in milliseconds', '2000')
    .option('--etcd-user <name>', 'etcd user (default $KIWI_ETCD_USER, or the credential file)')
    .option('--etcd-password-file <file>', 'file holding the etcd password (default $KIWI_ETCD_PASSWORD_FILE, $KIWI_ETCD_PASSWORD, or the credential file)')
    .option('--etcd-password <pw>', 'etcd password; readable by every local user on a command line, so prefer --etcd-password-file')
    .option('--credentials <file>', 'credential file {user, password} (default $KIWI_CREDENTIALS, ~/.config/kiwi/credentials.yaml, /etc/kiwi/credentials/$USER.yaml)')
    .option('--etcd-ca <file>', 'CA of etcd\'s TLS certificate (default $KIWI_ETCD_CA)')
    .option('--etcd-cert <file>', 'client certificate for etcd (default $KIWI_ETCD_CERT)')
    .option('--etcd-key <file>', 'key of the client certificate (default $KIWI_ETCD_KEY)')
    .version(pkg.version, '--version', 'print the version')
    .addHelpText('after', EXIT_CODES)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (s, write) => write(s.startsWith('error:') ? s : `error: ${s}`) });

  setCtxFactory((globals: GlobalFlags) => {
    const timeout = Number(globals.requestTimeout ?? 2000);
    if (!Number.isFinite(timeout) || timeout <= 0) throw usage(`--request-timeout ${globals.requestTimeout}: give milliseconds, e.g. 2000`);
    const client = new Client({ ...globals, requestTimeoutMs: timeout });
    clients.push(client);
    return {
      globals,
      client,
      out: (t) => void process.stdout.write(t),
      err: (t) => void process.stderr.write(t),
      handleInterrupts: () => interrupts.handle(),
    };
  });

  const valued = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((f): f is string => !!f)));
  const only = args && verbOf(args, valued);
  for (const register of only ? [VERBS[only]!] : Object.values(VERBS)) {
    const cmd = register(program);
    cmd.exitOverride().showHelpAfterError('(add --help for usage)');
  }
  return { program, clients };
}

/** Ctrl-C: a verb that asked to handle it stops cleanly; any other is interrupted (exit 130). */
class Interrupts {
  private readonly abort = new AbortController();
  private handled = false;
  constructor() {
    const on = (sig: NodeJS.Signals) => {
      if (this.handled && !this.abort.signal.aborted) this.abort.abort();
      else process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  }
  handle(): AbortSignal {
    this.handled = true;
    return this.abort.signal;
  }
}


// Settings of the long-running programs (kiwi-operator, kiwi-node-daemon), with one precedence:
//
//   command-line flag  >  environment variable (KIWI_*)  >  config file  >  built-in default
//
// The config file is YAML: a mapping whose keys are the flags' long names in camelCase
// (--lease-ttl -> leaseTtl, --no-pam -> pam: false); a list is accepted where the flag takes a
// comma-separated one (endpoints). An unknown key is an error that names it. The file is
// --config FILE, else $KIWI_CONFIG, else the program's default path if that file exists
// (/etc/kiwi/operator.yaml, /etc/kiwi/node-daemon.yaml). A file named by --config or
// KIWI_CONFIG must exist.
//
// Flags and environment are commander's (Option.env()); the file goes in below them as values of
// source 'config', which commander lets an environment variable and a flag override.
import { existsSync, readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import * as yaml from 'js-yaml';

export const CONFIG_ENV = 'KIWI_CONFIG';

export type SettingSource = 'cli' | 'env' | 'config' | 'default' | 'implied' | undefined;

export interface Settings<T> {
  opts: T;
  /** The config file read, if any. */
  file?: string;
  /** Where each setting came from. */
  sources: Record<string, SettingSource>;
}

/** Adds --config FILE (env KIWI_CONFIG) to a program's command. */
export function addConfigOption(cmd: Command, defaultFile: string): Command {
  return cmd.addOption(new Option('--config <file>', `YAML settings, keys = the flags' long names in camelCase (default: ${defaultFile} if it exists); flags and KIWI_* variables override it`).env(CONFIG_ENV));
}

/**
 * Adds the etcd user and TLS options a Kiwi server takes (docs/security.md): --etcd-user,
 * --etcd-password-file, --etcd-ca, --etcd-cert, --etcd-key, each with its KIWI_ETCD_* variable;
 * etcdSecurity (etcd.ts) reads them. `user` and `passwordFile` say which user and file this
 * program is given.
 */
export function addEtcdSecurityOptions(cmd: Command, help: { user: string; passwordFile: string }): Command {
  return cmd
    .addOption(new Option('--etcd-user <name>', help.user).env('KIWI_ETCD_USER'))
    .addOption(new Option('--etcd-password-file <file>', help.passwordFile).env('KIWI_ETCD_PASSWORD_FILE'))
    .addOption(new Option('--etcd-ca <file>', 'CA of etcd\'s TLS certificate').env('KIWI_ETCD_CA'))
    .addOption(new Option('--etcd-cert <file>', 'client certificate for etcd').env('KIWI_ETCD_CERT'))
    .addOption(new Option('--etcd-key <file>', 'key of the client certificate').env('KIWI_ETCD_KEY'));
}

/** The config file to read: --config, else KIWI_CONFIG, else the default if it exists. */
export function configFileOf(argv: string[], defaultFile: string | undefined, env: NodeJS.ProcessEnv = process.env): { path: string; explicit: boolean } | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '--config') {
      if (i + 1 >= argv.length) throw new Error('--config needs a file');
      return { path: argv[i + 1], explicit: true };
    }
    if (a.startsWith('--config=')) return { path: a.slice('--config='.length), explicit: true };
  }
  if (env[CONFIG_ENV]) return { path: env[CONFIG_ENV]!, explicit: true };
  if (defaultFile && existsSync(defaultFile)) return { path: defaultFile, explicit: false };
  return undefined;
}

/** Reads a config file into option values of `cmd` (by attribute name), converting and checking each. */
export function readConfigFile(cmd: Command, path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`config file ${path}: cannot read it (${(err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: path });
  } catch (err) {
    throw new Error(`config file ${path}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`config file ${path}: expected a mapping of settings (e.g. "endpoints: http://10.0.0.1:2379"), got ${Array.isArray(doc) ? 'a list' : typeof doc}`);
  const byKey = new Map<string, Option>();
  for (const o of cmd.options as Option[]) {
    const k = o.attributeName();
    if (k === 'config' || k === 'version' || k === 'help') continue;
    // --pam-socket and --no-pam have different keys; a flag and its --no- twin share one.
    if (!byKey.has(k) || o.negate) byKey.set(k, o);
  }
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    const opt = byKey.get(key);
    if (!opt) throw new Error(`config file ${path}: unknown key "${key}"; known keys: ${[...byKey.keys()].sort().join(', ')}`);
    if (opt.isBoolean() || opt.negate) {
      if (typeof raw !== 'boolean') throw new Error(`config file ${path}: "${key}" must be true or false, not ${JSON.stringify(raw)}`);
      out[key] = raw;
      continue;
    }
    let s: string;
    if (Array.isArray(raw) && raw.every((x) => typeof x === 'string' || typeof x === 'number')) s = raw.join(',');
    else if (typeof raw === 'string' || typeof raw === 'number') s = String(raw);
    else throw new Error(`config file ${path}: "${key}" must be a string or a number, not ${JSON.stringify(raw)}`);
    try {
      out[key] = opt.parseArg ? opt.parseArg(s, undefined) : s;
    } catch (err) {
      throw new Error(`config file ${path}: "${key}": ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * Parses a program's arguments with the documented precedence: flag > KIWI_* environment >
 * config file > default. `cmd` must have been given addConfigOption(). Throws (with the file
 * and key) on a bad config file.
 */
export function parseSettings<T>(cmd: Command, argv: string[], defaultFile: string): Settings<T> {
  const f = configFileOf(argv, defaultFile);
  if (f) {
    for (const [k, v] of Object.entries(readConfigFile(cmd, f.path))) cmd.setOptionValueWithSource(k, v, 'config');
  }
  cmd.parse(argv, { from: 'user' });
  const opts = cmd.opts<T & object>();
  const sources: Record<string, SettingSource> = {};
  for (const k of Object.keys(opts)) sources[k] = cmd.getOptionValueSource(k) as SettingSource;
  return { opts, file: f?.path, sources };
}

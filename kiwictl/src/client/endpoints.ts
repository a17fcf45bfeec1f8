// Which etcd kiwictl talks to, and why: the first of --endpoints, $KIWI_ENDPOINTS, the config
// file's `endpoints:`, the endpoint a running `kiwictl dev up` recorded, http://127.0.0.1:2379.
// The source is kept so that an unreachable etcd can be reported with where the address came from.
import { existsSync, readFileSync } from 'node:fs';
import { parseEndpoints } from '../../../crds/api/endpoints.js';
import { InvalidError } from '../../../crds/api/errors.js';
import { configPath, devFiles, devStateDir, type DevState } from './paths.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';

export interface ResolvedEndpoints {
  endpoints: string[];
  /** e.g. "--endpoints", "KIWI_ENDPOINTS", "/home/a/.config/kiwi/config.yaml", "the default" */
  source: string;
}

export interface EndpointFlags {
  endpoints?: string;
  config?: string;
  stateDir?: string;
}

export async function resolveEndpoints(flags: EndpointFlags, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedEndpoints> {
  if (flags.endpoints) return { endpoints: parseEndpoints(flags.endpoints, '--endpoints'), source: '--endpoints' };
  if (env.KIWI_ENDPOINTS) return { endpoints: parseEndpoints(env.KIWI_ENDPOINTS, 'KIWI_ENDPOINTS'), source: 'KIWI_ENDPOINTS' };
  const cfg = configPath(flags.config, env);
  const explicit = Boolean(flags.config || env.KIWI_CONFIG);
  if (existsSync(cfg)) {
    const fromFile = await readConfigEndpoints(cfg);
    if (fromFile) return { endpoints: fromFile, source: cfg };
  } else if (explicit) {
    throw new InvalidError(`config file ${cfg} does not exist (given by ${flags.config ? '--config' : 'KIWI_CONFIG'})`);
  }
  const dev = readDevState(devStateDir(flags.stateDir, env));
  if (dev) return { endpoints: [dev.endpoint], source: `the dev etcd recorded in ${devFiles(devStateDir(flags.stateDir, env)).stateFile}` };
  return { endpoints: [DEFAULT_ENDPOINT], source: 'the default' };
}

/** Reads `endpoints: [..]` (a list or a comma-separated string) from a YAML config file. */
async function readConfigEndpoints(file: string): Promise<string[] | undefined> {
  const yaml = await import('js-yaml'); // only when a config file exists: keeps `get` start-up lean
  let doc: any;
  try {
    doc = yaml.load(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InvalidError(`config file ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const eps = doc?.endpoints;
  if (eps === undefined) return undefined;
  if (typeof eps === 'string') return parseEndpoints(eps, file);
  if (Array.isArray(eps) && eps.every((e) => typeof e === 'string')) return parseEndpoints(eps.join(','), file);
  throw new InvalidError(`config file ${file}: endpoints must be a list of URLs, e.g. endpoints: [http://127.0.0.1:2379]`);
}

/** The state `kiwictl dev up` recorded, or undefined when there is none (or it is unreadable). */
export function readDevState(stateDir: string): DevState | undefined {
  try {
    return JSON.parse(readFileSync(devFiles(stateDir).stateFile, 'utf8')) as DevState;
  } catch {
    return undefined;
  }
}

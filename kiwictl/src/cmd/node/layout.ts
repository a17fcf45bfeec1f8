// What `kiwictl node install` puts on a node, as a list of files: pure, so that install,
// uninstall and the tests agree on one list. Paths are as seen on the node; the caller
// prefixes the root it works under.
import { InvalidError } from '../../../../crds/api/errors.js';

export const LIB_DIR = '/usr/lib/kiwi';
export const DAEMON_UNIT = '/etc/systemd/system/kiwi-node-daemon.service';
export const ENV_FILE = '/etc/kiwi/kiwi.env';
export const MANIFEST = '/var/lib/kiwi/installed-files.json';
export const PROGRAMS = ['kiwi-node-daemon', 'kiwictl'] as const;

export interface NodeInstallSettings {
  endpoints?: string;
  nodeName?: string;
  address?: string;
  /** The node daemon's etcd credential file (auth on). */
  passwordFile?: string;
  /** etcd without auth on a non-loopback address, accepted with --insecure-no-auth. */
  insecureNoAuth?: boolean;
}

/** Where node install keeps the node daemon's etcd credentials (root's, 0600). */
export const nodeCredentialFile = (node: string) => `/etc/kiwi/credentials/kiwi-node-${node}.yaml`;

/** The wrapper in /usr/bin that runs a bundled program with the node's Node.js. */
export function wrapper(program: string): string {
  return `#!/bin/sh\n# Installed by kiwictl node install; removed by kiwictl node uninstall.\nexec node ${LIB_DIR}/dist/${program}.js "$@"\n`;
}

/** /etc/kiwi/kiwi.env: the settings the systemd unit passes on as environment variables. */
export function envFile(s: NodeInstallSettings): string {
  const q = (v: string) => {
    if (!/^[A-Za-z0-9_.,:/@%+=-]+$/.test(v)) throw new InvalidError(`${JSON.stringify(v)}: only letters, digits and _.,:/@%+=- are allowed in ${ENV_FILE}`);
    return v;
  };
  const lines = ['# Kiwi node daemon settings (kiwictl node install). Flags > these variables > /etc/kiwi/node-daemon.yaml > defaults.'];
  if (s.endpoints) lines.push(`KIWI_ENDPOINTS=${q(s.endpoints)}`);
  if (s.nodeName) lines.push(`KIWI_NODE_NAME=${q(s.nodeName)}`);
  if (s.address) lines.push(`KIWI_NODE_ADDRESS=${q(s.address)}`);
  if (s.passwordFile) lines.push(`KIWI_ETCD_PASSWORD_FILE=${q(s.passwordFile)}`);
  if (s.insecureNoAuth) lines.push('# etcd has authentication off: anyone who reaches it can rewrite this node\'s calendar (docs/security.md)', 'KIWI_INSECURE_NO_AUTH=1');
  return lines.join('\n') + '\n';
}

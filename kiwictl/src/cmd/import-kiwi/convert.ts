// Converts the original Kiwi's config.json (NFS-era: workers with host, port, optional daily
// time windows and a label; an ssh bypass list; a UTC offset in hours) into Kiwi objects.
// Pure: the caller reads the file and applies the result. Everything that cannot be carried
// over is said in `notes`, never dropped silently.
import type { ClusterConfig, KiwiObject, Node, Pool } from '../../../../crds/api/types.js';
import { InvalidError } from '../../../../crds/api/errors.js';

export interface Conversion {
  objects: KiwiObject[];
  notes: string[];
}

/** Old Kiwi's `timezone` is hours east of UTC; IANA's Etc/GMT zones count the other way. */
export function zoneForOffset(hours: number): string | undefined {
  if (hours === 0) return 'UTC';
  if (!Number.isInteger(hours) || hours < -12 || hours > 14) return undefined;
  return `Etc/GMT${hours > 0 ? '-' : '+'}${Math.abs(hours)}`;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const WINDOW = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const USER = /^[a-z_][a-z0-9_.-]*[$]?$/;
const KNOWN = new Set(['workers', 'worker_install_path', 'worker_shared_path', 'worker_ssh_bypass', 'timezone']);

export const LABEL_KEY = 'kiwi.dev/label';
/** The pool import-kiwi makes of the original Kiwi's nodes. */
export const DEFAULT_POOL = 'kiwi';

export function convertKiwiConfig(config: unknown, source = 'config.json'): Conversion {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new InvalidError(`${source}: not a Kiwi config (expected a JSON object with "workers")`);
  const c = config as Record<string, unknown>;
  if (c.workers === null || typeof c.workers !== 'object' || Array.isArray(c.workers)) throw new InvalidError(`${source}: "workers" must be an object of name: [host, port, windows, label]`);
  const notes: string[] = [];
  const objects: KiwiObject[] = [];

  const offset = c.timezone === undefined ? 8 : Number(c.timezone);
  let zone = zoneForOffset(offset);
  if (c.timezone === undefined) notes.push('timezone: not set; old Kiwi defaulted to UTC+8, so time windows are read as UTC+8 (Etc/GMT-8)');
  if (!zone) {
    notes.push(`timezone: ${String(c.timezone)} hours cannot be written as an IANA zone (only whole hours from -12 to +14); time windows are read as UTC: fix spec.reservableWindows[].timeZone by hand`);
    zone = 'UTC';
  }

  const seen = new Map<string, string>();
  for (const [oldName, raw] of Object.entries(c.workers as Record<string, unknown>)) {
    if (!Array.isArray(raw) || raw.length < 2) {
      notes.push(`workers.${oldName}: skipped: expected [host, port, windows, label], got ${JSON.stringify(raw)}`);
      continue;
    }
    const [host, port, windows, label] = raw;
    let name = oldName.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
    if (!NAME.test(name) || name.length > 253) {
      notes.push(`workers.${oldName}: skipped: no valid node name can be made from it`);
      continue;
    }
    if (name !== oldName) notes.push(`workers.${oldName}: renamed to node "${name}" (lower-case letters, digits, "-" and "." only)`);
    if (seen.has(name)) {
      notes.push(`workers.${oldName}: skipped: its name "${name}" is already taken by workers.${seen.get(name)}`);
      continue;
    }
    seen.set(name, oldName);
    const portNum = Number(port);
    const node: Node = {
      apiVersion: 'kiwi.dev/v1alpha1',
      kind: 'Node',
      metadata: { name },
      spec: { address: String(host) },
    };
    if (Number.isInteger(portNum) && portNum >= 1 && portNum <= 65535) node.spec!.sshPort = portNum;
    else notes.push(`workers.${oldName}: port ${JSON.stringify(port)} is not a port; sshPort left at its default (22)`);
    if (typeof windows === 'string' && windows.trim() !== '') {
      const ws: NonNullable<NonNullable<Node['spec']>['reservableWindows']> = [];
      for (const w of windows.split(',')) {
        const m = WINDOW.exec(w);
        const ok = m && Number(m[1]) < 24 && Number(m[2]) < 60 && Number(m[3]) < 24 && Number(m[4]) < 60;
        if (!ok) {
          notes.push(`workers.${oldName}: time window "${w.trim()}" is not hh:mm-hh:mm; left out`);
          continue;
        }
        const hhmm = (h: string, mi: string) => `${h.padStart(2, '0')}:${mi}`;
        // old Kiwi: a window whose end is before its start runs past midnight; so does Kiwi's
        ws.push({ start: hhmm(m![1], m![2]), end: hhmm(m![3], m![4]), timeZone: zone });
      }
      if (ws.length) node.spec!.reservableWindows = ws;
    }
    if (typeof label === 'string' && label !== '') {
      if (LABEL_VALUE.test(label) && label.length <= 63) node.metadata.labels = { [LABEL_KEY]: label };
      else notes.push(`workers.${oldName}: label "${label}" is not a valid label value; left out`);
    }
    if (raw.length > 4) notes.push(`workers.${oldName}: fields after the label were not understood and are left out`);
    objects.push(node);
  }

  const bypass = Array.isArray(c.worker_ssh_bypass) ? c.worker_ssh_bypass.map(String) : [];
  if (c.worker_ssh_bypass !== undefined && !Array.isArray(c.worker_ssh_bypass)) notes.push('worker_ssh_bypass: not a list; left out');
  const users = bypass.filter((u) => u !== 'root');
  if (bypass.includes('root')) notes.push('worker_ssh_bypass: "root" is always allowed by Kiwi and need not be listed');
  const valid = users.filter((u) => USER.test(u) && u.length <= 32);
  for (const u of users) if (!valid.includes(u)) notes.push(`worker_ssh_bypass: "${u}" is not a user name; left out`);
  const cc: ClusterConfig = {
    apiVersion: 'kiwi.dev/v1alpha1',
    kind: 'ClusterConfig',
    metadata: { name: 'default' },
    spec: { sshBypassUsers: valid },
  };
  objects.push(cc);
  // The original Kiwi had one set of nodes open to everyone, in arrival order: one default pool
  // of every node, without limits, plans exactly that; an admin adds limits or other pools to it.
  const pool: Pool = { apiVersion: 'kiwi.dev/v1alpha1', kind: 'Pool', metadata: { name: DEFAULT_POOL }, spec: { default: true, nodeSelector: '', state: 'Open', order: 'FIFO' } };
  objects.push(pool);
  notes.push(`pool ${DEFAULT_POOL}: every node, the default pool, open to everyone in arrival order (the original Kiwi had no limits); add limits with kiwictl edit pool ${DEFAULT_POOL}`);

  for (const k of ['worker_install_path', 'worker_shared_path'])
    if (c[k] !== undefined) notes.push(`${k}: not needed (Kiwi keeps its state in etcd and installs with "kiwictl node install"); left out`);
  for (const k of Object.keys(c)) if (!KNOWN.has(k)) notes.push(`${k}: not understood; left out`);
  return { objects, notes };
}

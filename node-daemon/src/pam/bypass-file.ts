// The always-allowed list, on local disk, for the PAM module (pam_kiwi.so) to read FIRST, before
// asking the daemon: the users in it get in even when the daemon, etcd or the network is down.
//
// Format (one record a line, space-separated, written only by the daemon):
//   # comment
//   failmode closed|open
//   minuid 1000
//   allow NAME            one line per always-allowed user: root, sshBypassUsers, admins
//
// Written atomically (temporary file in the same folder, fsync, rename), mode 0600, owned by
// the daemon's user (root). It lives on persistent storage by default so that it survives a
// reboot before the daemon is back.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../../crds/api/atomic-file.js';
import type { EffectiveConfig } from '../../../crds/api/index.js';
import { USER_NAME_RE } from './server.js';

/** The daemon writes <state-dir>/pam-bypass; with the packaged state dir that is this path, the helper's default. */
export const BYPASS_FILE_NAME = 'pam-bypass';
export const DEFAULT_BYPASS_FILE = '/var/lib/kiwi/pam-bypass';

export function bypassFileContent(config: Pick<EffectiveConfig, 'admins' | 'sshBypassUsers' | 'minUid' | 'pamFailMode'>): string {
  const users = new Set<string>(['root']);
  for (const u of [...config.sshBypassUsers, ...config.admins]) if (USER_NAME_RE.test(u)) users.add(u);
  const minUid = Number.isSafeInteger(config.minUid) && config.minUid >= 0 ? config.minUid : 1000;
  const lines = [
    '# Written by kiwi-node-daemon from the ClusterConfig; read by pam_kiwi.so. Do not edit: it is rewritten.',
    `failmode ${config.pamFailMode === 'open' ? 'open' : 'closed'}`,
    `minuid ${minUid}`,
    ...[...users].map((u) => `allow ${u}`),
  ];
  return lines.join('\n') + '\n';
}

/** Writes the file if its content changed; returns whether it wrote. */
export function writeBypassFile(path: string, config: Parameters<typeof bypassFileContent>[0]): boolean {
  const content = bypassFileContent(config);
  try {
    if (readFileSync(path, 'utf8') === content) return false;
  } catch {
    /* absent or unreadable: write it */
  }
  writeFileAtomic(path, content, { mode: 0o600 });
  return true;
}

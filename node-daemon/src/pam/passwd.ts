// Name -> uid from /etc/passwd, without spawning getent: parsed once and again only when the
// file changes (inode, size or mtime), so a PAM check costs one stat(2). Users that exist only
// in another NSS source (LDAP, SSSD) are not found here: they get uid undefined and are
// treated as ordinary users, which is what they nearly always are.
import { readFileSync, statSync } from 'node:fs';

export type UidLookup = (name: string) => number | undefined;

export function parsePasswd(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    if (f.length < 4 || !/^\d+$/.test(f[2])) continue;
    if (!m.has(f[0])) m.set(f[0], Number(f[2])); // the first entry wins, as in getpwnam
  }
  return m;
}

export function passwdLookup(path = '/etc/passwd'): UidLookup {
  let stamp = '';
  let users = new Map<string, number>();
  return (name) => {
    let s: string;
    try {
      const st = statSync(path);
      s = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      s = 'missing';
    }
    if (s !== stamp) {
      try {
        users = parsePasswd(readFileSync(path, 'utf8'));
      } catch {
        users = new Map();
      }
      stamp = s;
    }
    return users.get(name);
  };
}

// Resolving user names to uids where the operator can: /etc/passwd of the host it runs on.
// Parsing is pure; a user it cannot find is "unknown" and the minUid rule does not apply.
import { readFileSync } from 'node:fs';

export function parsePasswd(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2])) m.set(f[0], Number(f[2]));
  }
  return m;
}

/** A uidOf backed by a passwd file, re-read at most every `maxAgeMs`. */
export function passwdResolver(path = '/etc/passwd', maxAgeMs = 60_000): (user: string) => number | undefined {
  let table = new Map<string, number>();
  let readAt = -Infinity;
  return (user) => {
    if (Date.now() - readAt > maxAgeMs) {
      try {
        table = parsePasswd(readFileSync(path, 'utf8'));
      } catch {
        table = new Map();
      }
      readAt = Date.now();
    }
    return table.get(user);
  };
}

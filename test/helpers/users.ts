// Real Linux test users, always named kiwitest-<name> (uid >= 1000), created idempotently.
import { execFileSync } from 'node:child_process';

export interface TestUser {
  name: string;
  uid: number;
}

const uidOf = (name: string): number | undefined => {
  try {
    return Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return undefined;
  }
};

export function testUserName(name: string): string {
  return name.startsWith('kiwitest-') ? name : `kiwitest-${name}`;
}

/** Creates kiwitest-<name> (home, bash, locked password) unless it exists. */
export function ensureUser(name: string): TestUser {
  const full = testUserName(name);
  let uid = uidOf(full);
  if (uid === undefined) {
    try {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', '-K', 'UID_MIN=1000', full], { stdio: 'pipe' });
      execFileSync('usermod', ['-p', '*', full], { stdio: 'pipe' });
    } catch (e) {
      if (uidOf(full) === undefined) throw e; // another test created it meanwhile: fine
    }
    uid = uidOf(full)!;
  }
  if (uid < 1000) throw new Error(`${full} has uid ${uid} < 1000; delete it (userdel -r ${full}) and run again`);
  return { name: full, uid };
}

/** Deletes a test user and their home (only kiwitest-* names). */
export function deleteUser(name: string): void {
  const full = testUserName(name);
  if (!full.startsWith('kiwitest-')) throw new Error(`refusing to delete ${full}`);
  if (uidOf(full) === undefined) return;
  execFileSync('userdel', ['-r', full], { stdio: 'ignore' });
}

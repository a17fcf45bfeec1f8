// Who may touch which keys once etcd auth is on (docs/security.md). etcd's permissions are
// per key or per key prefix, read, write or readwrite; each Kiwi identity gets one role:
//   kiwi-operator        readwrite /kiwi/ (everything)
//   kiwi-admin           read /kiwi/; readwrite /kiwi/spec/ (bookings of anyone, nodes, config);
//                        no status: statuses are what the operator and the daemons decided, and a
//                        written one (a 30-day Active booking) would bypass admission. Deleting an
//                        object deletes only its spec key (Store.delete) for that reason.
//   kiwi-user-<user>     read /kiwi/ (bookings are not secret in a lab); readwrite only
//                        /kiwi/spec/bookings/<user>/ (and subscriptions/, bookingschedules/ of <user>)
//                        and its server dry-run requests under
//                        /kiwi/dryrun/<user>/ (each under a short lease; the operator answers)
//   kiwi-node-<node>     readwrite its heartbeat key, its Node status key and its events; read
//                        its Node spec, its calendar and the ClusterConfig. Never write its
//                        spec: labels (that attract selector bookings), the address users are
//                        shown and cordon are the admin's (Kubernetes' NodeRestriction), so an
//                        admin registers the Node (kiwictl add-node, or node install)
// A user who floods their own prefixes past the ClusterConfig's userLimits loses their Readwrite
// grants (writeGrantsOf) until an admin restores them (operator/src/grants, kiwictl admin
// restore-user); the operator's etcd user also has etcd's root role, to revoke them.
// Pure: the admin verb and the operator turn these into etcd grants.
import { keys, ROOT } from './keys.js';
import { CLUSTER_CONFIG_NAME } from './config.js';
import { DRYRUN_PREFIX } from './dryrun.js';

export type Perm = 'Read' | 'Write' | 'Readwrite';
export interface Grant {
  permission: Perm;
  /** A key, or a prefix when `prefix` is set. */
  key: string;
  prefix?: boolean;
}

export type Identity = { kind: 'operator' } | { kind: 'admin'; user: string } | { kind: 'user'; user: string } | { kind: 'node'; node: string };

export const OPERATOR_USER = 'kiwi-operator';

/** etcd user names Kiwi creates: a Unix user's own name, kiwi-node-<node>, kiwi-operator. */
export function etcdUserOf(id: Identity): string {
  if (id.kind === 'operator') return OPERATOR_USER;
  if (id.kind === 'node') return `kiwi-node-${id.node}`;
  return id.user;
}

export function roleOf(id: Identity): string {
  if (id.kind === 'operator') return 'kiwi-operator';
  if (id.kind === 'admin') return 'kiwi-admin';
  if (id.kind === 'node') return `kiwi-node-${id.node}`;
  return `kiwi-user-${id.user}`;
}

export function grantsOf(id: Identity): Grant[] {
  switch (id.kind) {
    case 'operator':
      return [{ permission: 'Readwrite', key: ROOT, prefix: true }];
    case 'admin':
      return [
        { permission: 'Read', key: ROOT, prefix: true },
        { permission: 'Readwrite', key: ROOT + 'spec/', prefix: true },
        { permission: 'Readwrite', key: DRYRUN_PREFIX, prefix: true },
      ];
    case 'user':
      return [
        { permission: 'Read', key: ROOT, prefix: true },
        { permission: 'Readwrite', key: keys.specPrefix('Booking', id.user), prefix: true },
        // their notification choices and recurring rules (the operator writes the statuses and the occurrences)
        { permission: 'Readwrite', key: keys.specPrefix('Subscription', id.user), prefix: true },
        { permission: 'Readwrite', key: keys.specPrefix('BookingSchedule', id.user), prefix: true },
        { permission: 'Readwrite', key: `${DRYRUN_PREFIX}${id.user}/`, prefix: true },
      ];
    case 'node': {
      const ref = { kind: 'Node' as const, name: id.node };
      return [
        { permission: 'Readwrite', key: keys.heartbeat(id.node) },
        { permission: 'Read', key: keys.spec(ref) },
        { permission: 'Readwrite', key: keys.status(ref) },
        { permission: 'Readwrite', key: keys.eventPrefix(ref), prefix: true },
        { permission: 'Read', key: keys.calendar(id.node) },
        { permission: 'Read', key: keys.spec({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME }) },
        { permission: 'Read', key: keys.specPrefix('ClusterConfig'), prefix: true },
      ];
    }
  }
}

/**
 * Names that may become etcd users and key segments: Unix-like user and host names, nothing
 * that could escape a key prefix ("/", "..", spaces, control characters) or be absurdly long.
 */
export function checkName(name: string, what: 'user' | 'node'): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return `a ${what} name is required`;
  if (name.length > 63) return `${what} name "${name.slice(0, 20)}..." is ${name.length} characters long; at most 63`;
  const re = what === 'user' ? /^[a-z_][a-z0-9_.-]*\$?$/i : /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i;
  if (!re.test(name) || name.includes('..')) return `${what} name ${JSON.stringify(name)} is not allowed: ${what === 'user' ? 'letters, digits, _, . and -, not starting with a digit, . or -' : 'letters, digits, . and -'}`;
  if (['root', OPERATOR_USER].includes(name) || name.startsWith('kiwi-node-')) return `${what} name ${name} is reserved`;
  return undefined;
}

/** The grants a flooding user loses (their writes), leaving them read access to see why. */
export function writeGrantsOf(user: string): Grant[] {
  return grantsOf({ kind: 'user', user }).filter((g) => g.permission !== 'Read');
}

/** How far past a ClusterConfig userLimits limit a user's keys or bytes go before their write grants are revoked. */
export const REVOKE_FACTOR = 2;

/**
 * The prefixes whose keys count as a user's own (userLimits, the flood detector, restore-user):
 * everything they may write (writeGrantsOf): bookings, schedules, subscriptions and dry-run
 * requests (the operator's answers, under the same lease, count too: the requests made them).
 */
export function countedPrefixes(user: string): string[] {
  return writeGrantsOf(user).map((g) => g.key);
}

const USER_PREFIXES = [keys.specPrefix('Booking'), keys.specPrefix('Subscription'), keys.specPrefix('BookingSchedule'), DRYRUN_PREFIX];

/** The user in whose own prefix (countedPrefixes) a key lies, or undefined. */
export function keyOwner(key: string): string | undefined {
  const p = USER_PREFIXES.find((x) => key.startsWith(x));
  return (p && key.slice(p.length).split('/')[0]) || undefined;
}

/**
 * Why a user holding `keys` keys of `bytes` bytes (countedPrefixes) is past `factor` times a
 * ClusterConfig userLimits limit, or '' when not: at 1, their new bookings and dry runs are
 * refused; at REVOKE_FACTOR, floodReason.
 */
export function limitReason(user: string, u: { keys: number; bytes: number }, lim: { bookings: number; bytes: number }, factor: number): string {
  const times = factor === 1 ? 'the' : `${factor} times the`;
  if (u.keys > factor * lim.bookings) return `user ${user} holds ${u.keys} keys (bookings, schedules, subscriptions, dry runs), more than ${times} ${lim.bookings} one user may hold (ClusterConfig spec.userLimits.bookings)`;
  if (u.bytes > factor * lim.bytes) return `user ${user} holds ${u.bytes} bytes of keys (bookings, schedules, subscriptions, dry runs), more than ${times} ${lim.bytes} one user may hold (ClusterConfig spec.userLimits.bytes)`;
  return '';
}

/** Why a user is flooding (past REVOKE_FACTOR times a limit): their write grants go; '' when not. */
export function floodReason(user: string, u: { keys: number; bytes: number }, lim: { bookings: number; bytes: number }): string {
  return limitReason(user, u, lim, REVOKE_FACTOR);
}

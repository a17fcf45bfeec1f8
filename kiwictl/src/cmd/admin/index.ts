// kiwictl admin enable-auth | add-user NAME [--admin | --node] | backup FILE: etcd authentication
// for Kiwi, and backups of its state (backup.ts).
// enable-auth creates root (a generated password in root's credential file), the operator's
// user, the admin role, users for the Nodes and ClusterConfig admins already known, then turns
// auth on. add-user creates (or resets) one etcd user with its role and writes its credential
// file (mode 0600, owned by that Unix user when there is one), which kiwictl picks up by itself.
// Roles: roles.ts; locations: client/credentials.ts; the whole picture: docs/security.md.
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { writeFileAtomic } from '../../../../crds/api/atomic-file.js';
import { ForbiddenError, InvalidError } from '../../../../crds/api/errors.js';
import { CLUSTER_CONFIG_NAME } from '../../../../crds/api/config.js';
import { systemUsers } from '../../../../crds/api/nss.js';
import { credentialFileOf, credentialsDir } from '../../client/credentials.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { checkName, etcdUserOf, grantsOf, roleOf, OPERATOR_USER, type Identity } from '../../../../crds/api/roles.js';
import { BackupOptions } from './backup.js';
import { RestoreUserOptions } from './restore-user.js';

/** The Unix user a credential file belongs to, through the one user-database resolver (crds/api/nss.ts). */
function uidOf(name: string): number | undefined {
  const u = systemUsers().lookup(name);
  return u && !u.ambiguous ? u.uid : undefined;
}

/** Writes {user, password} to <dir>/<file>.yaml, 0600, owned by `owner` (root if not a Unix user). */
export function writeCredentialFile(fileUser: string, etcdUser: string, password: string, owner: string | undefined, file = credentialFileOf(fileUser)): { file: string; ownedBy: string } {
  const uid = owner ? uidOf(owner) : undefined;
  const chown = uid !== undefined && process.getuid?.() === 0;
  const content = `# etcd credentials of ${etcdUser}, written by kiwictl admin\nuser: ${etcdUser}\npassword: ${JSON.stringify(password)}\n`;
  writeFileAtomic(file, content, { mode: 0o600, ...(chown ? { owner: { uid, gid: uid } } : {}) });
  return { file, ownedBy: uid !== undefined ? owner! : 'root' };
}

async function userExists(etcd: Etcd3, name: string): Promise<boolean> {
  return (await etcd.getUsers()).some((u) => u.name === name);
}

export const newPassword = () => randomBytes(24).toString('base64url');

/** Creates or resets the etcd user, (re)creates its role with exactly its grants, links them. */
export async function ensureIdentity(etcd: Etcd3, id: Identity, password: string): Promise<void> {
  const { etcdPermission } = await import('../../../../crds/api/etcd.js');
  const roleName = roleOf(id);
  const role = etcd.role(roleName);
  const roleExists = (await etcd.getRoles()).some((r) => r.name === roleName);
  if (id.kind !== 'admin' || !roleExists) {
    if (roleExists) await role.delete();
    await role.create();
    await role.grant(grantsOf(id).map(etcdPermission));
  }
  const user = etcd.user(etcdUserOf(id));
  if (await userExists(etcd, etcdUserOf(id))) await user.setPassword(password);
  else await user.create(password);
  await user.addRole(roleName);
  // The operator revokes a flooding user's write grants (operator/src/grants): etcd lets only root change roles.
  if (id.kind === 'operator') await user.addRole('root');
}

class EnableAuthOptions implements Options {
  complete(): void {}
  validate(): void {}
  async run(ctx: Ctx): Promise<void> {
    if (process.getuid?.() !== 0) throw new ForbiddenError('enable-auth writes credential files for every identity; run it as root');
    const store = await ctx.client.store();
    const etcd = store.etcd;
    const written: string[] = [];
    const [nodes, config] = await Promise.all([store.list('Node'), store.get({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME })]);
    const add = async (id: Identity, owner?: string) => {
      const pw = newPassword();
      await ensureIdentity(etcd, id, pw);
      const fileUser = etcdUserOf(id);
      const w = writeCredentialFile(fileUser, fileUser, pw, owner);
      written.push(`${roleOf(id).padEnd(24)} ${fileUser.padEnd(24)} ${w.file} (owner ${w.ownedBy})`);
    };
    await add({ kind: 'operator' });
    for (const n of nodes) if (n.metadata.name && !checkName(n.metadata.name, "node")) await add({ kind: "node", node: n.metadata.name! });
    for (const a of (config?.spec?.admins ?? []) as string[]) if (!checkName(a, 'user')) await add({ kind: 'admin', user: a }, a);
    // root last: after this, nothing works without its password
    const rootPw = newPassword();
    const root = etcd.user('root');
    if (await userExists(etcd, 'root')) await root.setPassword(rootPw);
    else await root.create(rootPw);
    await root.addRole('root');
    const w = writeCredentialFile('root', 'root', rootPw, 'root');
    written.push(`${'root'.padEnd(24)} ${'root'.padEnd(24)} ${w.file} (owner root)`);
    await etcd.auth.authEnable();
    ctx.out(`etcd authentication is on. Credential files (in ${credentialsDir()}):\n${written.map((l) => `  ${l}\n`).join('')}`);
    ctx.out('Add users with `kiwictl admin add-user NAME` (and --admin, or --node for a node daemon).\n');
  }
}

class AddUserOptions implements Options {
  name = '';
  id!: Identity;
  complete(args: string[], flags: { admin?: boolean; node?: boolean }): void {
    this.name = args[0] ?? '';
    if (args.length > 1) throw usage('add-user takes one NAME');
    if (flags.admin && flags.node) throw usage('--admin and --node exclude each other');
    const what = flags.node ? 'node' : 'user';
    const bad = checkName(this.name, what);
    if (bad) throw new InvalidError(bad);
    this.id = flags.node ? { kind: 'node', node: this.name } : flags.admin ? { kind: 'admin', user: this.name } : { kind: 'user', user: this.name };
  }
  validate(): void {}
  async run(ctx: Ctx): Promise<void> {
    const store = await ctx.client.store();
    const pw = newPassword();
    await ensureIdentity(store.etcd, this.id, pw).catch((e) => {
      const m = String((e as Error)?.message ?? e);
      if (/permission denied|not authorized|root/i.test(m)) throw new ForbiddenError(`add-user needs etcd's root user (root's credential file, written by enable-auth): ${m}`);
      throw store.translate(e, `add-user ${this.name}`);
    });
    const etcdUser = etcdUserOf(this.id);
    const w = writeCredentialFile(etcdUser, etcdUser, pw, this.id.kind === 'node' ? undefined : this.name);
    ctx.out(`etcd user ${etcdUser} (role ${roleOf(this.id)}) ready; credentials in ${w.file} (mode 0600, owner ${w.ownedBy})\n`);
    if (this.id.kind === 'node') ctx.out(`Give the node daemon on ${this.name}: --etcd-user ${etcdUser} --etcd-password-file ${w.file}\n`);
    else if (w.ownedBy === 'root') ctx.out(`${this.name} is not a Unix user here: hand the file over (e.g. as ~${this.name}/.config/kiwi/credentials.yaml)\n`);
  }
}

export function registerAdmin(program: Command): Command {
  const admin = program.command('admin').description('etcd authentication and backups for Kiwi: enable-auth, add-user, restore-user, backup (root only)');
  admin
    .command('enable-auth')
    .description('Create the operator, node and admin users with their roles and root with a generated password, then turn on etcd authentication')
    .addHelpText('after', examples('kiwictl admin enable-auth', 'KIWI_CREDENTIALS_DIR=/srv/kiwi/creds kiwictl admin enable-auth'))
    .action(verbAction(() => new EnableAuthOptions()));
  admin
    .command('add-user')
    .description(`Create (or reset) an etcd user with its role and write its credential file (${credentialFileOf('NAME')})`)
    .argument('<name>', 'Unix user name (or node name with --node)')
    .option('--admin', 'may change any booking, nodes and the cluster config')
    .option('--node', 'NAME is a node: the node daemon\'s user kiwi-node-NAME')
    .addHelpText('after', examples('kiwictl admin add-user alice', 'kiwictl admin add-user bob --admin', 'kiwictl admin add-user gpu01 --node'))
    .action(verbAction(() => new AddUserOptions()));
  admin
    .command('restore-user')
    .description('Give back the etcd write grants the operator revoked from a user who flooded their bookings (see /kiwi/grants/revoked/USER)')
    .argument('<user>', 'the Unix user name')
    .option('--delete-ended', "first delete the user's bookings that are neither Pending nor Active (the flood's Rejected ones)")
    .addHelpText('after', examples('kiwictl admin restore-user alice', 'kiwictl admin restore-user alice --delete-ended'))
    .action(verbAction(() => new RestoreUserOptions()));
  admin
    .command('backup')
    .description("Write a snapshot of Kiwi's whole state (etcd's database, as etcdctl snapshot save does) to FILE, printing its revision and SHA-256")
    .argument('<file>', 'the snapshot file to write (mode 0600; refused if it exists, unless --force)')
    .option('--force', 'replace FILE if it exists')
    .addHelpText('after', examples('kiwictl admin backup /var/backups/kiwi-$(date +%F).db', 'etcdctl snapshot restore kiwi.db --data-dir /var/lib/etcd-restored   # then start etcd on it (docs/operations.md)'))
    .action(verbAction(() => new BackupOptions()));
  return admin;
}
export { OPERATOR_USER };

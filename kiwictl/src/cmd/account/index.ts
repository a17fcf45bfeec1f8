// kiwictl account add-member | remove-member | set-cap: what an account's managers may change
// (its members and member caps), asked of the leading operator through the caller's own request
// prefix (crds/api/dryrun.ts askAccountChange), because etcd cannot let a manager write part of
// an Account. The operator decides who the caller is from the key, and applies it with a CAS.
import type { Command } from 'commander';
import { decodeAccountChange, type AccountChange } from '../../../../crds/api/account-change.js';
import { InvalidError, RefusedError } from '../../../../crds/api/errors.js';
import { callerName } from '../bookings.js';
import { collect, examples, usage, verbAction, type Ctx, type Options } from '../verb.js';

type Verb = 'add-member' | 'remove-member' | 'set-cap';

/** One example per verb, written out (a test parses every kiwictl command the sources suggest). */
const EXAMPLE: Record<Verb, string[]> = {
  'add-member': ['kiwictl account add-member lab-a --user alice', 'kiwictl account add-member lab-a --user bob --group students'],
  'remove-member': ['kiwictl account remove-member lab-a --user alice', 'kiwictl account remove-member lab-a --user bob --group students'],
  'set-cap': ['kiwictl account set-cap lab-a alice 500', 'kiwictl account set-cap lab-a alice none'],
};

class AccountOptions implements Options {
  change: AccountChange = { account: '' };

  constructor(private readonly verb: Verb) {}

  complete(args: string[], flags: { user?: string[]; group?: string[] }): void {
    const [account, ...rest] = args;
    if (!account) throw usage(`${this.verb} needs the ACCOUNT, e.g. ${EXAMPLE[this.verb][0]}`);
    this.change = { account };
    if (this.verb === 'set-cap') {
      if (rest.length !== 2) throw usage('set-cap takes ACCOUNT USER UNITS (UNITS "none" clears the cap), e.g. kiwictl account set-cap lab-a alice 500');
      const [user, units] = rest;
      const n = units === 'none' ? null : Number(units);
      if (n !== null && (!Number.isFinite(n) || n < 0)) throw new InvalidError(`set-cap: UNITS must be a number of service units of 0 or more, or none to clear the cap; got ${JSON.stringify(units)}`);
      this.change.memberCaps = { [user]: n };
      return;
    }
    if (rest.length) throw usage(`${this.verb} takes ACCOUNT and --user/--group, e.g. ${EXAMPLE[this.verb][1]}`);
    const users = flags.user ?? [];
    const groups = flags.group ?? [];
    if (!users.length && !groups.length) throw usage(`${this.verb}: name at least one --user or --group`);
    if (this.verb === 'add-member') Object.assign(this.change, users.length ? { addUsers: users } : {}, groups.length ? { addGroups: groups } : {});
    else Object.assign(this.change, users.length ? { removeUsers: users } : {}, groups.length ? { removeGroups: groups } : {});
  }

  /** The operator's own decoder: what it would refuse is refused here first, with the same words. */
  validate(): void {
    const d = decodeAccountChange(this.change);
    if ('error' in d) throw new InvalidError(d.error);
  }

  async run(ctx: Ctx): Promise<void> {
    const { askAccountChange } = await import('../../../../crds/api/dryrun.js');
    const a = await askAccountChange(await ctx.client.store(), callerName(), this.change);
    if (a.error) throw new RefusedError(`account ${this.change.account}: ${a.error}`);
    const m = a.account?.members;
    const caps = Object.entries(a.account?.memberCaps ?? {}).map(([u, n]) => `${u}=${n}`);
    ctx.out(`account.kiwi.dev/${this.change.account} ${a.changed ? 'changed' : 'unchanged'}: members users [${(m?.users ?? []).join(', ')}] groups [${(m?.groups ?? []).join(', ')}]${caps.length ? `; caps ${caps.join(', ')}` : ''}\n`);
  }
}

export function registerAccount(program: Command): Command {
  const account = program.command('account').description("An account's managers change its members and member caps (the allocation stays an admin's: kiwictl apply -f account.yaml)");
  for (const verb of ['add-member', 'remove-member'] as const) {
    account
      .command(verb)
      .description(verb === 'add-member' ? 'Let users or groups book on the account' : 'Take users or groups off the account (their running bookings keep what they reserved)')
      .argument('<account>', 'the Account')
      .option('--user <user>', 'a Unix user (repeat for more)', collect)
      .option('--group <group>', 'a Unix group (repeat for more)', collect)
      .addHelpText('after', examples(...EXAMPLE[verb]))
      .action(verbAction(() => new AccountOptions(verb)));
  }
  account
    .command('set-cap')
    .description('Set how many units one member may have encumbered and charged in a period (none: no cap)')
    .argument('<account>', 'the Account')
    .argument('<args...>', 'USER UNITS')
    .addHelpText('after', examples(...EXAMPLE['set-cap']))
    .action(verbAction(() => new AccountOptions('set-cap')));
  return account;
}

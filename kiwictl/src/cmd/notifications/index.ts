// kiwictl notifications: the notification settings at a glance: the cluster's sinks (from the
// ClusterConfig's spec.notifications) and a user's Subscriptions (which events reach which sink,
// and whether the operator found them valid). Writing them is `kiwictl apply -f` as for any kind.
import type { Command } from 'commander';
import type { ClusterConfig, Subscription } from '../../../../crds/api/types.js';
import { shortDuration } from '../../../../crds/api/duration.js';
import { CLUSTER_CONFIG_NAME } from '../../../../crds/api/config.js';
import { callerNamespace } from '../../client/paths.js';
import { renderTable } from '../../printers/table.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { skippedKeys } from '../resource.js';

type Sink = NonNullable<NonNullable<NonNullable<ClusterConfig['spec']>['notifications']>['sinks']>[number];

/** One sink as a row: name, type, where it sends, attempts, timeout. */
export function sinkRow(s: Sink): string[] {
  const [type, target] = s.webhook
    ? ['webhook', s.webhook.url]
    : s.smtp
      ? ['smtp', `${s.smtp.host}:${s.smtp.port ?? 25} -> USER@${s.smtp.domain}`]
      : ['sendmail', `${s.sendmail!.path ?? '/usr/sbin/sendmail'} -> ${s.sendmail!.domain ? `USER@${s.sendmail!.domain}` : 'USER'}`];
  return [s.name, type, target, String(s.maxAttempts ?? 5), `${s.timeoutSeconds ?? 10}s`];
}

/** One subscription as a row; STATUS is the operator's word (its conditions), or that it has not looked yet. */
export function subscriptionRow(s: Subscription): string[] {
  const conds = s.status?.conditions ?? [];
  const bad = conds.find((c) => c.status === 'False');
  const status = bad ? `${bad.type}=False: ${bad.message ?? bad.reason ?? ''}` : conds.length ? 'ok' : 'not seen by the operator yet';
  const sel = Object.entries(s.spec.bookings ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return [s.metadata.namespace!, s.metadata.name!, s.spec.sinks.join(','), (s.spec.events ?? ['all']).join(','), (s.spec.beforeEnd ?? [3600]).map((t) => shortDuration(t)).join(','), sel || '-', status];
}

export class NotificationsOptions implements Options {
  format: 'table' | 'json' = 'table';
  namespace?: string;

  complete(_args: string[], flags: { output?: string; namespace?: string; allNamespaces?: boolean }): void {
    if (flags.output && flags.output !== 'table' && flags.output !== 'json') throw usage(`-o ${flags.output}: notifications prints table or json`);
    this.format = (flags.output as 'table' | 'json') ?? 'table';
    if (flags.namespace && flags.allNamespaces) throw usage('give -n USER or -A, not both');
    this.namespace = flags.allNamespaces ? undefined : flags.namespace || callerNamespace();
  }

  validate(): void {}

  async run(ctx: Ctx): Promise<void> {
    const reader = await ctx.client.reader();
    const skipped = skippedKeys(ctx.err);
    const [config, subs] = await Promise.all([
      reader.get({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME }),
      reader.list('Subscription', { namespace: this.namespace, onInvalid: skipped.onInvalid }),
    ]);
    skipped.warn();
    const sinks = config?.spec?.notifications?.sinks ?? [];
    if (this.format === 'json') return ctx.out(JSON.stringify({ sinks, subscriptions: subs }, null, 2) + '\n');
    ctx.out('Sinks (ClusterConfig default, spec.notifications):\n');
    ctx.out(sinks.length ? renderTable(['NAME', 'TYPE', 'TARGET', 'ATTEMPTS', 'TIMEOUT'], sinks.map(sinkRow)) : '  none: an admin adds them to the ClusterConfig (kiwictl explain clusterconfig.spec.notifications)\n');
    ctx.out(`\nSubscriptions${this.namespace ? ` of ${this.namespace}` : ''}:\n`);
    ctx.out(subs.length
      ? renderTable(['USER', 'NAME', 'SINKS', 'EVENTS', 'BEFORE-END', 'BOOKINGS', 'STATUS'], subs.map(subscriptionRow))
      : '  none: write one (kind Subscription, kiwictl explain subscription.spec) and kiwictl apply -f it\n');
  }
}

export function registerNotifications(program: Command): Command {
  return program
    .command('notifications')
    .description('The notification settings: the cluster\'s sinks and your Subscriptions (which events of your bookings reach which sink)')
    .option('-n, --namespace <user>', 'another user\'s subscriptions')
    .option('-A, --all-namespaces', 'everybody\'s subscriptions')
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText('after', examples('kiwictl notifications', 'kiwictl notifications -A -o json', 'kiwictl get subscriptions'))
    .action(verbAction(() => new NotificationsOptions()));
}

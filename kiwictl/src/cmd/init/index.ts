// kiwictl init: create the ClusterConfig `default` with sensible defaults, written out in full
// so that `kiwictl get cc default -o yaml` shows what is in force. Idempotent: an existing
// config is kept; flags given change only their fields.
import type { Command } from 'commander';
import type { ClusterConfig, ClusterConfigSpec } from '../../../../crds/api/types.js';
import { API_VERSION } from '../../../../crds/api/types.js';
import { CLUSTER_CONFIG_NAME, DEFAULT_CONFIG } from '../../../../crds/api/config.js';
import { parseDuration } from '../../../../crds/api/duration.js';
import { collect, examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { requireAdmin, userExists } from '../bookings.js';
import { wouldDo } from '../apply/plan.js';

interface InitFlags {
  admin?: string[];
  defaultDuration?: string;
  maxDuration?: string;
  dryRun?: boolean;
}

/** Pure: the defaults of a new cluster. */
export function defaultSpec(): ClusterConfigSpec {
  const d = DEFAULT_CONFIG;
  return {
    admins: [...d.admins],
    sshBypassUsers: [...d.sshBypassUsers],
    minUid: d.minUid,
    defaultDuration: d.defaultDuration,
    maxDuration: d.maxDuration,
    killWaitSeconds: d.killWaitSeconds,
    pamFailMode: d.pamFailMode,
    warnBefore: [...d.warnBefore],
    clockSkewSeconds: d.clockSkewSeconds,
  };
}

export class InitOptions implements Options {
  set: Partial<ClusterConfigSpec> = {};
  dryRun = false;

  complete(_args: string[], f: InitFlags): void {
    this.dryRun = Boolean(f.dryRun);
    if (f.admin) {
      for (const a of f.admin) if (!/^[a-z_][a-z0-9_.-]*[$]?$/.test(a)) throw usage(`--admin ${a}: not a user name`);
      this.set.admins = [...new Set(f.admin)];
    }
    if (f.defaultDuration) this.set.defaultDuration = parseDuration(f.defaultDuration);
    if (f.maxDuration) this.set.maxDuration = parseDuration(f.maxDuration);
  }

  validate(): void {}

  async run(ctx: Ctx): Promise<void> {
    await requireAdmin(await ctx.client.reader(), 'init');
    for (const a of this.set.admins ?? []) if (!userExists(a)) ctx.err(`warning: admin ${a} is not a user on this machine\n`);
    const store = await ctx.client.store();
    const cur = await store.get({ kind: 'ClusterConfig', name: CLUSTER_CONFIG_NAME });
    const spec = { ...(cur ? cur.spec ?? {} : defaultSpec()), ...this.set };
    const obj: ClusterConfig = { apiVersion: API_VERSION, kind: 'ClusterConfig', metadata: { ...(cur?.metadata ?? {}), name: CLUSTER_CONFIG_NAME }, spec };
    delete obj.metadata.resourceVersion;
    const { validateObject } = await import('../../../../crds/api/validate.js');
    const valid = validateObject(obj, 'clusterconfig default') as ClusterConfig;
    if (this.dryRun) {
      ctx.out(`clusterconfig.kiwi.dev/default ${wouldDo(valid, cur)} (dry run)\n`);
      return;
    }
    const { action } = await store.apply(valid);
    ctx.out(`clusterconfig.kiwi.dev/default ${action}\n`);
    if (action === 'created') ctx.err('next: add nodes with `kiwictl add-node NAME --host HOST` (or `kiwictl import-kiwi config.json`), then `kiwictl info`\n');
  }
}

export function registerInit(program: Command): Command {
  return program
    .command('init')
    .description('Create the cluster\'s settings (ClusterConfig default) with sensible defaults; safe to run again. Admins only')
    .option('--admin <user>', 'a user who may book for others and administer Kiwi (repeatable; replaces the list)', collect)
    .option('--default-duration <duration>', 'duration of a booking that names none (default 1h)')
    .option('--max-duration <duration>', 'the longest booking allowed (default 7d)')
    .option('--dry-run', 'say what would happen, write nothing')
    .addHelpText('after', examples('kiwictl init', 'kiwictl init --admin alice --admin bob --max-duration 3d', '# See what is in force', 'kiwictl get clusterconfig default -o yaml'))
    .action(verbAction(() => new InitOptions()));
}

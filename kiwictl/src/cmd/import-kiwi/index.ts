// kiwictl import-kiwi CONFIG.json: turn the original Kiwi's config.json into Node objects and
// the ClusterConfig, apply them (or --dry-run), and say what could not be carried over.
// An existing ClusterConfig keeps its settings; the old ssh bypass users are added to it.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ClusterConfig, KiwiObject } from '../../../../crds/api/types.js';
import { InvalidError } from '../../../../crds/api/errors.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { requireAdmin } from '../bookings.js';
import { refOf } from '../resource.js';
import { convertKiwiConfig } from './convert.js';

/** Pure: the imported ClusterConfig merged into the existing one (bypass users added, nothing else touched). */
export function mergeConfig(imported: ClusterConfig, current: ClusterConfig | undefined): ClusterConfig {
  if (!current) return imported;
  const users = [...new Set([...(current.spec?.sshBypassUsers ?? []), ...(imported.spec?.sshBypassUsers ?? [])])];
  return { ...imported, metadata: { ...imported.metadata, labels: current.metadata.labels, annotations: current.metadata.annotations }, spec: { ...(current.spec ?? {}), sshBypassUsers: users } };
}

export class ImportKiwiOptions implements Options {
  file = '';
  dryRun = false;

  complete(args: string[], f: { dryRun?: boolean }): void {
    this.file = args[0] ?? '';
    this.dryRun = Boolean(f.dryRun);
  }

  validate(): void {
    if (!this.file) throw usage('import-kiwi needs the old Kiwi config: kiwictl import-kiwi /path/to/config.json');
  }

  async run(ctx: Ctx): Promise<void> {
    let text: string;
    try {
      text = readFileSync(this.file === '-' ? 0 : this.file, 'utf8');
    } catch (e) {
      throw usage(`${this.file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new InvalidError(`${this.file}: malformed JSON (${(e as Error).message})`);
    }
    const { objects, notes } = convertKiwiConfig(json, this.file);
    const { validateObject } = await import('../../../../crds/api/validate.js');
    const valid: KiwiObject[] = [];
    const problems: string[] = [];
    for (const o of objects) {
      try {
        valid.push(validateObject(o, `${o.kind.toLowerCase()} ${o.metadata.name}`));
      } catch (e) {
        if (!(e instanceof InvalidError)) throw e;
        problems.push(...e.problems);
      }
    }
    if (problems.length) throw new InvalidError(problems.join('; '), problems.map((p) => `${p} (nothing was written)`));
    if (!this.dryRun) await requireAdmin(await ctx.client.reader(), 'import-kiwi');
    const store = this.dryRun ? undefined : await ctx.client.store();
    const reader = await ctx.client.reader();
    for (let o of valid) {
      const word = o.kind === 'Node' ? 'node' : 'clusterconfig';
      if (o.kind === 'ClusterConfig') o = mergeConfig(o, this.dryRun ? await reader.get(refOf(o) as any) as ClusterConfig | undefined : await store!.get({ kind: 'ClusterConfig', name: 'default' }));
      if (this.dryRun) {
        const cur = await reader.get(refOf(o) as any);
        ctx.out(`${word}.kiwi.dev/${o.metadata.name} ${cur ? 'configured' : 'created'} (dry run)\n`);
        continue;
      }
      const { action } = await store!.apply(o);
      ctx.out(`${word}.kiwi.dev/${o.metadata.name} ${action}\n`);
    }
    if (notes.length) ctx.err(`not carried over, or changed on the way (${notes.length}):\n${notes.map((n) => `  - ${n}\n`).join('')}`);
  }
}

export function registerImportKiwi(program: Command): Command {
  return program
    .command('import-kiwi')
    .description('Turn the original Kiwi\'s config.json into Nodes and the ClusterConfig, apply them, and list what could not be carried over. Admins only')
    .argument('[file]', 'the old config.json (- for stdin)')
    .option('--dry-run', 'convert and say what would happen, write nothing')
    .addHelpText('after', examples('kiwictl import-kiwi /shared/kiwi/config.json --dry-run', 'kiwictl import-kiwi /shared/kiwi/config.json', 'kiwictl info'))
    .action(verbAction(() => new ImportKiwiOptions()));
}

// kiwictl diff -f FILE: what apply would change, as kubectl diff shows it: the live objects and
// the objects as apply would write them (apply/plan.ts, then the store's merge) are written as
// YAML under LIVE-* and MERGED-* temp dirs and compared with `diff -u -N` ($KIWI_EXTERNAL_DIFF,
// like $KUBECTL_EXTERNAL_DIFF, names another program). Exit 0: no differences, 1: differences,
// >1: an error (kubectl's codes; nothing is written either way).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { KiwiObject } from '../../../../crds/api/types.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { readSources, type Source } from '../input.js';
import { toYaml } from '../../printers/index.js';
import { ExitWith } from '../../errors.js';
import { applyInputFlags, loadForApply } from '../apply/index.js';

/** The parts of an object diff shows: no status, no resourceVersion (they are not apply's). */
export function diffable(o: KiwiObject | undefined): unknown {
  if (!o) return undefined;
  const { status: _s, ...rest } = o as KiwiObject & { status?: unknown };
  const { resourceVersion: _rv, ...metadata } = o.metadata;
  return { ...rest, metadata };
}

export class DiffOptions implements Options {
  files: string[] = [];
  namespace?: string;
  force = false;
  sources: Source[] = [];

  complete(_args: string[], flags: { filename?: string[]; namespace?: string; force?: boolean }): void {
    this.files = flags.filename ?? [];
    this.namespace = flags.namespace;
    this.force = Boolean(flags.force);
  }

  validate(): void {
    if (!this.files.length) throw usage('diff needs at least one -f FILE, DIR or - (stdin)');
    this.sources = readSources(this.files);
  }

  async run(ctx: Ctx): Promise<void> {
    const { objects, current } = await loadForApply(ctx, this.sources, this.namespace, 'diff', this.force);
    const { merged } = await import('../../../../crds/api/store.js');
    const live = mkdtempSync(join(tmpdir(), 'LIVE-'));
    const next = mkdtempSync(join(tmpdir(), 'MERGED-'));
    try {
      for (const [i, obj] of objects.entries()) {
        const cur = current[i];
        const file = `kiwi.dev.v1alpha1.${obj.kind}.${obj.metadata.namespace ? `${obj.metadata.namespace}.` : ''}${obj.metadata.name}`;
        if (cur) writeFileSync(join(live, file), await toYaml(diffable(cur)));
        writeFileSync(join(next, file), await toYaml(diffable(cur ? merged(cur, obj) : obj)));
      }
      const [cmd, ...args] = (process.env.KIWI_EXTERNAL_DIFF || 'diff -u -N').split(/\s+/).filter(Boolean);
      const r = spawnSync(cmd, [...args, live, next], { encoding: 'utf8' });
      if (r.error) throw new Error(`cannot run ${cmd} (${r.error.message}); install diffutils or set KIWI_EXTERNAL_DIFF`);
      ctx.out(r.stdout);
      if (r.stderr) ctx.err(r.stderr);
      if (r.status !== 0) throw new ExitWith(r.status === 1 ? 1 : Math.max(2, r.status ?? 2));
    } finally {
      rmSync(live, { recursive: true, force: true });
      rmSync(next, { recursive: true, force: true });
    }
  }
}

export function registerDiff(program: Command): Command {
  return applyInputFlags(
    program.command('diff').description('Show what `apply -f` would change (diff -u of the live and the applied objects); exit 0 if nothing, 1 if something would change, >1 on error'),
    'as apply --force: let a ClusterConfig take users off admins or sshBypassUsers',
  )
    .addHelpText('after', examples('kiwictl diff -f booking.yaml', '# Another diff program', 'KIWI_EXTERNAL_DIFF="diff -u --color=always" kiwictl diff -f manifests/examples/'))
    .action(verbAction(() => new DiffOptions()));
}

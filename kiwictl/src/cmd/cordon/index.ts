// kiwictl cordon NODE...: nothing new is planned on the nodes (spec.unschedulable: true); the
// bookings holding them go on, and those waiting for them move elsewhere or wait. Admins only.
import type { Command } from 'commander';
import { NotFoundError } from '../../../../crds/api/errors.js';
import { DRAIN_ANNOTATION } from '../../../../crds/api/types.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { requireAdmin, updateSpec } from '../bookings.js';

/**
 * Sets spec.unschedulable with a compare-and-swap; returns whether it changed. With `drain`,
 * also asks the operator to drain the node (the kiwi.dev/drain annotation, its value the
 * reason); uncordoning takes a drain request back.
 */
export async function setUnschedulable(ctx: Ctx, node: string, value: boolean, drain?: string): Promise<boolean> {
  try {
    const { changed } = await updateSpec(ctx, { kind: 'Node', name: node }, (n) => {
      const annotations = { ...(n.metadata.annotations ?? {}) };
      if (value && drain !== undefined) annotations[DRAIN_ANNOTATION] = drain;
      if (!value) delete annotations[DRAIN_ANNOTATION];
      const sameDrain = (n.metadata.annotations?.[DRAIN_ANNOTATION]) === annotations[DRAIN_ANNOTATION];
      if (Boolean(n.spec?.unschedulable) === value && sameDrain) return false;
      n.spec = { ...(n.spec ?? {}) };
      if (value) n.spec.unschedulable = true;
      else delete n.spec.unschedulable;
      if (Object.keys(annotations).length) n.metadata.annotations = annotations;
      else delete n.metadata.annotations;
      return true;
    });
    return changed;
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError(`node ${node} does not exist; see \`kiwictl info\``);
    throw e;
  }
}

export class CordonOptions implements Options {
  nodes: string[] = [];
  constructor(readonly value: boolean) {}

  complete(args: string[]): void {
    this.nodes = args;
  }

  validate(): void {
    if (!this.nodes.length) throw usage(`${this.value ? 'cordon' : 'uncordon'} needs a NODE (see \`kiwictl info\`)`);
  }

  async run(ctx: Ctx): Promise<void> {
    await requireAdmin(await ctx.client.reader(), this.value ? 'cordon' : 'uncordon');
    const word = this.value ? 'cordoned' : 'uncordoned';
    for (const n of this.nodes) {
      const changed = await setUnschedulable(ctx, n, this.value);
      ctx.out(`node.kiwi.dev/${n} ${changed ? word : `already ${word}`}\n`);
    }
  }
}

export function registerCordon(program: Command): Command {
  return program
    .command('cordon')
    .description('Stop planning new bookings on nodes (spec.unschedulable); current bookings go on. Admins only')
    .argument('[nodes...]', 'node names')
    .addHelpText('after', examples('kiwictl cordon n01', 'kiwictl cordon n01 n02', '# Undo', 'kiwictl uncordon n01'))
    .action(verbAction(() => new CordonOptions(true)));
}

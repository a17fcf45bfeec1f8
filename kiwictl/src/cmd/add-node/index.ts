// kiwictl add-node NAME --host HOST [--port PORT] [--label k=v]: register a node by hand (the
// node daemon registers its own node; this is for nodes set up before it runs). Admins only.
import type { Command } from 'commander';
import type { Node } from '../../../../crds/api/types.js';
import { API_VERSION } from '../../../../crds/api/types.js';
import { AlreadyExistsError } from '../../../../crds/api/errors.js';
import { collect, examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { requireAdmin } from '../bookings.js';
import { parseEqualitySelector } from '../alloc/spec.js';

interface AddNodeFlags {
  host?: string;
  port?: string;
  label?: string[];
  cordon?: boolean;
  dryRun?: boolean;
}

/** Pure: the Node for the flags (validated by the CRD schema in run). */
export function nodeFor(name: string, f: AddNodeFlags): Node {
  const node: Node = { apiVersion: API_VERSION, kind: 'Node', metadata: { name }, spec: { address: f.host ?? name } };
  if (f.port !== undefined) {
    const p = Number(f.port);
    if (!/^\d+$/.test(f.port) || p < 1 || p > 65535) throw usage(`--port ${f.port}: give a TCP port from 1 to 65535`);
    node.spec!.sshPort = p;
  }
  if (f.label?.length) {
    const labels: Record<string, string> = {};
    for (const l of f.label) Object.assign(labels, parseEqualitySelector(l));
    node.metadata.labels = labels;
  }
  if (f.cordon) node.spec!.unschedulable = true;
  return node;
}

export class AddNodeOptions implements Options {
  node!: Node;
  dryRun = false;

  complete(args: string[], f: AddNodeFlags): void {
    if (!args[0]) throw usage('add-node needs a NAME: kiwictl add-node n01 --host n01.cluster.example --port 22');
    if (!f.host) throw usage(`add-node needs --host: the host name or address users ssh to, e.g. --host ${args[0]}.cluster.example`);
    this.node = nodeFor(args[0], f);
    this.dryRun = Boolean(f.dryRun);
  }

  validate(): void {}

  async run(ctx: Ctx): Promise<void> {
    await requireAdmin(await ctx.client.reader(), 'add-node');
    const { validateObject } = await import('../../../../crds/api/validate.js');
    const node = validateObject(this.node, `node ${this.node.metadata.name}`) as Node;
    if (this.dryRun) return ctx.out(`node.kiwi.dev/${node.metadata.name} created (dry run)\n`);
    const store = await ctx.client.store();
    try {
      await store.create(node);
    } catch (e) {
      if (e instanceof AlreadyExistsError) throw new AlreadyExistsError(`node ${node.metadata.name} already exists; change it with \`kiwictl apply\` or remove it with \`kiwictl delete node ${node.metadata.name}\``);
      throw e;
    }
    ctx.out(`node.kiwi.dev/${node.metadata.name} created\n`);
  }
}

export function registerAddNode(program: Command): Command {
  return program
    .command('add-node')
    .description('Register a node (its node daemon does this itself only where etcd auth is off: with auth, a node may not write its Node spec). Admins only')
    .argument('[name]', 'the node\'s name (lower-case letters, digits, "-" and ".")')
    .option('--host <host>', 'host name or address users ssh to')
    .option('--port <port>', 'ssh port (default 22)')
    .option('--label <key=value>', 'a label, for -l selectors (repeatable)', collect)
    .option('--cordon', 'add it cordoned (nothing is planned on it until kiwictl uncordon)')
    .option('--dry-run', 'validate and say what would happen, write nothing')
    .addHelpText('after', examples('kiwictl add-node n01 --host 10.0.0.11', 'kiwictl add-node gpu1 --host gpu1.cluster.example --port 2222 --label gpu=a100 --label rack=3', '# Remove one', 'kiwictl delete node n01'))
    .action(verbAction(() => new AddNodeOptions()));
}

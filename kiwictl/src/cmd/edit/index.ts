// kiwictl edit KIND NAME: kubectl edit. The object is written as YAML to a temp file and opened
// in $KIWI_EDITOR, else $EDITOR, else vi; what is saved is validated like apply's input. An
// invalid edit re-opens the file with the errors on top (as kubectl does); saving it unchanged
// gives up and keeps a copy. The write is a compare-and-swap on the resourceVersion read, so a
// change somebody made meanwhile is never overwritten (exit 5). Status cannot be edited.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { KindInfo } from '../../../../crds/api/kinds.js';
import type { KiwiObject } from '../../../../crds/api/types.js';
import { InvalidError, NotFoundError } from '../../../../crds/api/errors.js';
import { refString } from '../../../../crds/api/keys.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { namespaceFor, qualifiedName, refForArg, resolveKind, splitKindName } from '../resource.js';
import { loadObjects } from '../input.js';
import { requireMayWrite } from '../bookings.js';
import { toYaml } from '../../printers/index.js';

const HEADER = `# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures. Status is the operator's and cannot be edited.
#
`;

/** Pure: the text without comment lines, to compare what the user changed. */
export function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .trim();
}

export class EditOptions implements Options {
  kind!: KindInfo;
  name = '';
  namespace?: string;
  private flagNamespace?: string;

  complete(args: string[], flags: { namespace?: string }): void {
    const first = splitKindName(args[0] ?? '');
    this.kind = resolveKind(first.kind ?? args[0]);
    const names = first.kind ? [first.name, ...args.slice(1)] : args.slice(1);
    if (names.length !== 1) throw usage(`edit takes one NAME: kiwictl edit ${this.kind.singular} NAME`);
    this.name = names[0];
    this.flagNamespace = flags.namespace;
    this.namespace = namespaceFor(this.kind, flags);
  }

  validate(): void {}

  async run(ctx: Ctx): Promise<void> {
    const ref = refForArg(this.kind, this.name, this.namespace, this.flagNamespace);
    await requireMayWrite(await ctx.client.reader(), [ref], 'edit');
    const store = await ctx.client.store();
    const cur = await store.get(ref);
    if (!cur) throw new NotFoundError(`${this.kind.plural} "${refString(ref)}" not found`);
    const { status: _status, ...editable } = cur as KiwiObject & { status?: unknown };
    const dir = mkdtempSync(join(tmpdir(), 'kiwictl-edit-'));
    const file = join(dir, `${this.kind.singular}-${ref.name}.yaml`);
    const editor = process.env.KIWI_EDITOR || process.env.EDITOR || 'vi';
    let text = HEADER + (await toYaml(editable));
    const original = stripComments(text);
    let previous = original;
    try {
      for (;;) {
        writeFileSync(file, text);
        const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit' });
        if (r.error || r.status !== 0) throw new Error(`the editor (${editor}) failed${r.status !== null ? ` with exit code ${r.status}` : ''}; set KIWI_EDITOR or EDITOR`);
        const edited = readFileSync(file, 'utf8');
        const body = stripComments(edited);
        if (!body || body === original) {
          ctx.out('Edit cancelled, no changes made.\n');
          return;
        }
        if (body === previous) {
          const keep = join(tmpdir(), `kiwictl-edit-${process.pid}.yaml`);
          copyFileSync(file, keep);
          throw new InvalidError(`the edit is still invalid; nothing was written. A copy of your changes is in ${keep}`);
        }
        previous = body;
        let obj: KiwiObject;
        try {
          [obj] = await loadObjects([{ name: file, text: body }], ref.namespace);
          const o = obj as KiwiObject;
          if (o.kind !== cur.kind || o.metadata.name !== cur.metadata.name || (o.metadata.namespace ?? undefined) !== (cur.metadata.namespace ?? undefined))
            throw new InvalidError(`the kind, name and namespace cannot be changed by edit (it was ${cur.kind} ${refString(ref)})`);
        } catch (e) {
          if (!(e instanceof InvalidError)) throw e;
          text = `# The edit could not be saved:\n${e.problems.map((p) => `# ${p}`).join('\n')}\n#\n` + HEADER + body + '\n';
          continue;
        }
        // resourceVersion as read: update() refuses if somebody changed the object meanwhile
        obj.metadata.resourceVersion = cur.metadata.resourceVersion;
        await store.update(obj);
        ctx.out(`${qualifiedName(this.kind, ref.name)} edited\n`);
        return;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

export function registerEdit(program: Command): Command {
  return program
    .command('edit')
    .description('Edit an object in your editor ($KIWI_EDITOR, $EDITOR, vi); saved like apply, validated first, re-opened with the errors when invalid')
    .argument('<kind>', 'kind, or KIND/NAME')
    .argument('[name]', 'NAME (or NAMESPACE/NAME for a booking)')
    .option('-n, --namespace <namespace>', 'namespace of bookings (default: your user name)')
    .addHelpText('after', examples('kiwictl edit node n01', 'kiwictl edit booking bk-1', 'KIWI_EDITOR=nano kiwictl edit cc default'))
    .action(verbAction(() => new EditOptions()));
}

// kiwictl explain KIND[.FIELD.PATH]: documentation of a kind or field, read from the CRD
// schemas (the same ones validation uses). Needs no etcd.
import type { Command } from 'commander';
import type { KindInfo } from '../../../../crds/api/kinds.js';
import type { JsonSchema } from '../../../../crds/api/meta.js';
import { API_VERSION } from '../../../../crds/api/types.js';
import { examples, usage, verbAction, type Ctx, type Options } from '../verb.js';
import { resolveKind } from '../resource.js';

/** The type as explain shows it: <string>, <integer or string>, <[]string>, <Object>. */
export function typeName(s: JsonSchema): string {
  if (s['x-kubernetes-int-or-string']) return 'integer or string';
  if (s.anyOf || s.oneOf) return [...new Set((s.anyOf ?? s.oneOf).map(typeName))].join(' or ');
  if (s.type === 'array') return `[]${s.items ? typeName(s.items) : 'Object'}`;
  if (s.type === 'object') return s.properties || !s.additionalProperties ? 'Object' : `map[string]${typeName(s.additionalProperties)}`;
  return s.type ?? 'Object';
}

/** The object whose fields a schema lists: itself, its array items, or its map values. */
function fieldsOf(s: JsonSchema): JsonSchema | undefined {
  if (s.properties) return s;
  if (s.type === 'array' && s.items) return fieldsOf(s.items);
  if (typeof s.additionalProperties === 'object') return fieldsOf(s.additionalProperties);
  return undefined;
}

const wrap = (text: string, indent: number, width = 78) => {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width - indent) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l) => ' '.repeat(indent) + l).join('\n') + '\n';
};

export class ExplainOptions implements Options {
  kind!: KindInfo;
  path: string[] = [];

  complete(args: string[]): void {
    if (!args[0]) throw usage('explain needs KIND or KIND.FIELD, e.g. kiwictl explain booking.spec.duration');
    // "bookings.kiwi.dev.spec" is not worth supporting: a kind is its first dot-segment
    const [kind, ...path] = args[0].split('.');
    this.kind = resolveKind(kind);
    this.path = path.filter(Boolean);
  }

  validate(): void {}

  async run(ctx: Ctx): Promise<void> {
    let schema = this.kind.crd.spec.versions[0].schema.openAPIV3Schema as JsonSchema;
    let required = false;
    const walked: string[] = [];
    for (const p of this.path) {
      const parent = fieldsOf(schema);
      const child = parent?.properties?.[p];
      if (!child) {
        const known = Object.keys(parent?.properties ?? {});
        throw usage(`field "${p}" does not exist in ${[this.kind.kind, ...walked].join('.')}${known.length ? `; it has: ${known.join(', ')}` : ''}`);
      }
      required = (parent!.required ?? []).includes(p);
      schema = child;
      walked.push(p);
    }
    if (walked.length === 1 && walked[0] === 'metadata') schema = { ...schema, description: schema.description ?? 'Standard object metadata: name, namespace (a Booking\'s owner), labels, annotations; uid, resourceVersion, generation and creationTimestamp are set by Kiwi.' };
    let out = `KIND:     ${this.kind.kind}\nVERSION:  ${API_VERSION}\n\n`;
    if (walked.length) out += `FIELD:    ${walked[walked.length - 1]} <${typeName(schema)}>${required ? ' -required-' : ''}\n\n`;
    out += 'DESCRIPTION:\n' + wrap(schema.description ?? '<empty>', 4);
    const enumOf = schema.enum ?? schema.items?.enum;
    if (enumOf) out += `\nENUM:\n${enumOf.map((v: unknown) => `    ${String(v)}`).join('\n')}\n`;
    if (schema.default !== undefined) out += `\nDEFAULT:  ${JSON.stringify(schema.default)}\n`;
    const limits = ['minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'pattern', 'format']
      .filter((k) => schema[k] !== undefined)
      .map((k) => `${k}=${schema[k]}`);
    if (limits.length) out += `\nCONSTRAINTS:  ${limits.join(', ')}\n`;
    const obj = fieldsOf(schema);
    if (obj?.properties) {
      out += '\nFIELDS:\n';
      for (const [name, child] of Object.entries(obj.properties as Record<string, JsonSchema>)) {
        const req = (obj.required ?? []).includes(name) ? ' -required-' : '';
        const def = child.default !== undefined ? ` (default ${JSON.stringify(child.default)})` : '';
        const en = child.enum ? ` one of: ${child.enum.join(', ')}` : '';
        out += `  ${name}\t<${typeName(child)}>${req}${def}\n`;
        if (child.description || en) out += wrap(`${child.description ?? ''}${en}`, 4);
        out += '\n';
      }
    }
    ctx.out(out);
  }
}

export function registerExplain(program: Command): Command {
  return program
    .command('explain')
    .description('Document a kind or one of its fields, from the CRD schemas (no etcd needed)')
    .argument('<kind.field.path>', 'e.g. booking, booking.spec, node.spec.reservableWindows')
    .addHelpText('after', examples('kiwictl explain booking', 'kiwictl explain booking.spec.duration', 'kiwictl explain node.status.booking'))
    .action(verbAction(() => new ExplainOptions()));
}

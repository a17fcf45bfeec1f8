// Pure: --field-selector as Kubernetes reads it (apimachinery pkg/fields): terms separated by
// commas, each FIELD=VALUE, FIELD==VALUE or FIELD!=VALUE, all of which must hold; a backslash
// escapes `,`, `=`, `!` and itself in a value. Only the fields listed per kind may be selected,
// as the apiserver allows only its selectable fields ("field label not supported: ..."). Kiwi
// filters on the client: etcd has no query language.
import type { KindInfo } from '../../../crds/api/kinds.js';
import { usage } from './verb.js';

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** The fields each kind can be selected by (metadata.name and, if namespaced, metadata.namespace for all). */
export const SELECTABLE: Record<string, string[]> = {
  Booking: ['spec.user', 'status.phase', 'status.reason'],
  Node: ['spec.address', 'spec.unschedulable', 'status.phase'],
  ClusterConfig: [],
};

export function selectableFields(kind: KindInfo): string[] {
  return ['metadata.name', ...(kind.namespaced ? ['metadata.namespace'] : []), ...(SELECTABLE[kind.kind] ?? [])];
}

export function parseFieldSelector(text: string, kind: KindInfo): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const term of splitTerms(text)) {
    if (term === '') continue;
    const m = /^([^=!\\]+?)\s*(==|=|!=)\s*(.*)$/s.exec(term);
    if (!m) throw usage(`--field-selector ${text}: invalid selector: '${term}'; can't understand '${term}' (write FIELD=VALUE, FIELD==VALUE or FIELD!=VALUE)`);
    const field = m[1].trim();
    const allowed = selectableFields(kind);
    if (!allowed.includes(field)) throw usage(`--field-selector ${text}: field label not supported: ${field} (${kind.plural} can be selected by ${allowed.join(', ')})`);
    out.push({ field, op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]) });
  }
  return out;
}

/** Splits on commas that are not escaped. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += s[i];
  }
  out.push(cur.trim());
  return out;
}

function unescape(v: string): string {
  return v.replace(/\\([\\,=!])/g, '$1');
}

/** A field's value as the selector compares it: a string; absent is "". */
function fieldValue(obj: any, field: string): string {
  let cur = obj;
  for (const p of field.split('.')) cur = cur === null || typeof cur !== 'object' ? undefined : cur[p];
  if (cur === undefined || cur === null) return field === 'spec.unschedulable' ? 'false' : '';
  return String(cur);
}

export function matchesFields(reqs: FieldRequirement[], obj: unknown): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

// The rules a Kubernetes API server applies to a CRD's openAPIV3Schema before it accepts it,
// as far as they can be checked offline: the structural-schema rules of apiextensions-apiserver
// (pkg/apiserver/schema/validation.go: validateStructuralInvariants, validateNestedValueValidation,
// validateStructuralCompleteness) and the schema rules of the CRD validation
// (pkg/apis/apiextensions/validation/validation.go: ValidateCustomResourceDefinitionOpenAPISchema).
// Not checked: CEL rules' compilation and cost (no CEL here) and Go's RE2 dialect (JS RegExp stands in).
// Pure: a schema in, a list of "path: problem" lines out (empty = the API server accepts it).

type Schema = Record<string, any>;
type Level = 'root' | 'item' | 'field';

const OPENAPI_TYPES = new Set(['array', 'boolean', 'integer', 'number', 'object', 'string']);
/** What may appear under anyOf/allOf/oneOf/not (value validations); the rest is "generic" or an extension. */
const FORBIDDEN_NESTED: [string, string][] = [
  ['type', 'must be empty to be structural'],
  ['default', 'must be undefined to be structural'],
  ['title', 'must be empty to be structural'],
  ['description', 'must be empty to be structural'],
  ['nullable', 'must be false to be structural'],
  ['externalDocs', 'must be undefined to be structural'],
  ['additionalProperties', 'must be undefined to be structural'],
  ['x-kubernetes-preserve-unknown-fields', 'must be false to be structural'],
  ['x-kubernetes-embedded-resource', 'must be false to be structural'],
  ['x-kubernetes-int-or-string', 'must be false to be structural'],
  ['x-kubernetes-list-map-keys', 'must be empty to be structural'],
  ['x-kubernetes-list-type', 'must be undefined to be structural'],
  ['x-kubernetes-map-type', 'must be undefined to be structural'],
  ['x-kubernetes-validations', 'must be empty to be structural'],
];
const UNSUPPORTED: [string, string][] = [
  ['id', 'id is not supported'],
  ['additionalItems', 'additionalItems is not supported'],
  ['patternProperties', 'patternProperties is not supported'],
  ['definitions', 'definitions is not supported'],
  ['dependencies', 'dependencies is not supported'],
  ['$ref', '$ref is not supported'],
];

/** The one anyOf an int-or-string field may carry: exactly these two branches, nothing else in them. */
function isIntOrStringAnyOf(anyOf: unknown): boolean {
  return (
    Array.isArray(anyOf) &&
    anyOf.length === 2 &&
    JSON.stringify(anyOf[0]) === '{"type":"integer"}' &&
    JSON.stringify(anyOf[1]) === '{"type":"string"}'
  );
}

const isSet = (v: unknown) => v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0) && v !== '';
const child = (p: string, k: string) => (p ? `${p}.${k}` : k);

/** Every problem the API server would report for this CRD version schema (openAPIV3Schema). */
export function structuralProblems(schema: Schema): string[] {
  const out: string[] = [];
  invariants(schema, 'root', 'openAPIV3Schema', out);
  crdRules(schema, 'openAPIV3Schema', true, false, out);
  completeness(schema, 'openAPIV3Schema', out);
  return out;
}

// --- structural invariants (apiserver/schema/validation.go) ---

function invariants(s: Schema, lvl: Level, path: string, out: string[]): void {
  if (!s || typeof s !== 'object') return;
  if (s.type === 'array' && !s.items) out.push(`${child(path, 'items')}: must be specified`);
  if (s.items && typeof s.items === 'object' && !Array.isArray(s.items)) invariants(s.items, 'item', child(path, 'items'), out);
  for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) invariants(v, 'field', `${path}.properties[${k}]`, out);
  if (s.additionalProperties !== undefined) {
    if (lvl === 'root') out.push(`${child(path, 'additionalProperties')}: must not be used at the root`);
    if (typeof s.additionalProperties === 'object') invariants(s.additionalProperties, 'field', child(path, 'additionalProperties'), out);
  }
  const ios = s['x-kubernetes-int-or-string'] === true;
  const puf = s['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  if (ios && puf) out.push(`${child(path, 'x-kubernetes-preserve-unknown-fields')}: must be false if x-kubernetes-int-or-string is true`);
  if (ios && embedded) out.push(`${child(path, 'x-kubernetes-embedded-resource')}: must be false if x-kubernetes-int-or-string is true`);

  // The two int-or-string exceptions: anyOf: [{type: integer}, {type: string}], or the same as allOf[0].anyOf.
  const skipAnyOf = isIntOrStringAnyOf(s.anyOf);
  const skipFirstAllOfAnyOf = Array.isArray(s.allOf) && s.allOf.length >= 1 && isIntOrStringAnyOf(s.allOf[0]?.anyOf);
  valueValidation(s, skipAnyOf, skipFirstAllOfAnyOf, path, out);

  if (embedded && s.type !== 'object') out.push(`${child(path, 'type')}: must be object if x-kubernetes-embedded-resource is true`);
  else if (!s.type && !ios && !puf) {
    const where = { root: 'at the root', item: 'for specified array items', field: 'for specified object fields' }[lvl];
    out.push(`${child(path, 'type')}: must not be empty ${where}`);
  }
  if (embedded && s.additionalProperties !== undefined) out.push(`${child(path, 'additionalProperties')}: must not be used if x-kubernetes-embedded-resource is set`);
  if (lvl === 'root' && s.type && s.type !== 'object') out.push(`${child(path, 'type')}: must be object at the root`);
  const checkMetadata = lvl === 'root' || embedded;
  for (const k of ['kind', 'apiVersion'])
    if (checkMetadata && s.properties?.[k] && s.properties[k].type !== 'string') out.push(`${path}.properties[${k}].type: must be string`);
  const meta = s.properties?.metadata;
  if (meta) {
    const mp = `${path}.properties[metadata]`;
    if (checkMetadata && meta.type !== 'object') out.push(`${mp}.type: must be object`);
    if (lvl === 'root') {
      // only name and generateName may be restricted; anything else is implicitly specified by ObjectMeta
      const rest = Object.keys(meta).filter((k) => k !== 'type' && k !== 'default' && !(k === 'properties' && Object.keys(meta.properties).every((p) => p === 'name' || p === 'generateName')));
      if (rest.length) out.push(`${mp}: must not specify anything other than name and generateName, but metadata is implicitly specified`);
    }
  }
  if (embedded && !puf && Object.keys(s.properties ?? {}).length === 0)
    out.push(`${child(path, 'properties')}: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields`);
}

function valueValidation(v: Schema, skipAnyOf: boolean, skipFirstAllOfAnyOf: boolean, path: string, out: string[]): void {
  if (!skipAnyOf) (v.anyOf ?? []).forEach((n: Schema, i: number) => nested(n, false, `${path}.anyOf[${i}]`, out));
  (v.allOf ?? []).forEach((n: Schema, i: number) => nested(n, skipFirstAllOfAnyOf && i === 0, `${path}.allOf[${i}]`, out));
  (v.oneOf ?? []).forEach((n: Schema, i: number) => nested(n, false, `${path}.oneOf[${i}]`, out));
  if (v.not) nested(v.not, false, `${path}.not`, out);
  if (typeof v.pattern === 'string') {
    try {
      new RegExp(v.pattern, 'u');
    } catch (e) {
      out.push(`${child(path, 'pattern')}: must be a valid regular expression, but isn't: ${(e as Error).message}`);
    }
  }
}

function nested(v: Schema, skipAnyOf: boolean, path: string, out: string[]): void {
  if (!v || typeof v !== 'object') return;
  valueValidation(v, skipAnyOf, false, path, out);
  if (v.items) nested(v.items, false, child(path, 'items'), out);
  for (const [k, f] of Object.entries<Schema>(v.properties ?? {})) nested(f, false, `${path}.properties[${k}]`, out);
  for (const [k, msg] of FORBIDDEN_NESTED) if (isSet(v[k])) out.push(`${child(path, k)}: ${msg}`);
  if (typeof v.additionalProperties === 'object') nested(v.additionalProperties, false, child(path, 'additionalProperties'), out);
  if (v.properties?.metadata) out.push(`${path}.properties[metadata]: must not be specified in a nested context`);
}

// --- completeness: every field a value validation names is specified outside it ---

function completeness(s: Schema, path: string, out: string[]): void {
  const check = (n: Schema, st: Schema | undefined, p: string) => {
    if (!n || typeof n !== 'object') return;
    for (const [k, f] of Object.entries<Schema>(n.properties ?? {})) {
      const sp = st?.properties?.[k] ?? (typeof st?.additionalProperties === 'object' ? st.additionalProperties : undefined);
      if (!sp) out.push(`${p}.properties[${k}]: must have a property without x-kubernetes-preserve-unknown-fields or type specified outside of value validation`);
      else check(f, sp, `${p}.properties[${k}]`);
    }
    if (n.items) {
      if (!st?.items) out.push(`${p}.items: must be specified outside of value validation`);
      else check(n.items, st.items, `${p}.items`);
    }
    for (const k of ['anyOf', 'allOf', 'oneOf']) (n[k] ?? []).forEach((m: Schema, i: number) => check(m, st, `${p}.${k}[${i}]`));
    if (n.not) check(n.not, st, `${p}.not`);
  };
  const walk = (n: Schema, p: string) => {
    if (!n || typeof n !== 'object') return;
    for (const k of ['anyOf', 'allOf', 'oneOf']) (n[k] ?? []).forEach((m: Schema, i: number) => check(m, n, `${p}.${k}[${i}]`));
    if (n.not) check(n.not, n, `${p}.not`);
    for (const [k, f] of Object.entries<Schema>(n.properties ?? {})) walk(f, `${p}.properties[${k}]`);
    if (n.items) walk(n.items, `${p}.items`);
    if (typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${p}.additionalProperties`);
  };
  walk(s, path);
}

// --- the CRD's schema rules (apis/apiextensions/validation/validation.go) ---

function crdRules(s: Schema, path: string, isRoot: boolean, insideMeta: boolean, out: string[]): void {
  if (!s || typeof s !== 'object') return;
  if (s.type !== undefined && !OPENAPI_TYPES.has(s.type)) out.push(`${child(path, 'type')}: unsupported value "${s.type}": must be one of ${[...OPENAPI_TYPES].join(', ')}`);
  if (s.type === 'null') out.push(`${child(path, 'type')}: type cannot be set to null, use nullable as an alternative`);
  for (const [k, msg] of UNSUPPORTED) if (s[k] !== undefined) out.push(`${child(path, k)}: ${msg}`);
  if (Array.isArray(s.items)) out.push(`${child(path, 'items')}: items must be a schema object and not an array`);
  if (insideMeta && s.default !== undefined) out.push(`${child(path, 'default')}: must not be set in top-level metadata`);
  if (s.uniqueItems === true) out.push(`${child(path, 'uniqueItems')}: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`);
  if (s.properties && Object.keys(s.properties).length && (s.additionalProperties === false || typeof s.additionalProperties === 'object'))
    out.push(`${child(path, 'additionalProperties')}: additionalProperties and properties are mutual exclusive`);
  if (insideMeta && s['x-kubernetes-embedded-resource'] === true) out.push(`${child(path, 'x-kubernetes-embedded-resource')}: must not be used inside of resource meta`);

  if (s['x-kubernetes-preserve-unknown-fields'] === false) out.push(`${child(path, 'x-kubernetes-preserve-unknown-fields')}: must be true or undefined`);
  const mapType = s['x-kubernetes-map-type'];
  if (mapType !== undefined && s.type !== 'object') out.push(`${child(path, 'type')}: must be object if x-kubernetes-map-type is specified`);
  if (mapType !== undefined && mapType !== 'atomic' && mapType !== 'granular') out.push(`${child(path, 'x-kubernetes-map-type')}: unsupported value "${mapType}": must be atomic or granular`);
  const listType = s['x-kubernetes-list-type'];
  const items = s.items && typeof s.items === 'object' && !Array.isArray(s.items) ? (s.items as Schema) : undefined;
  if (listType !== undefined && s.type !== 'array') out.push(`${child(path, 'type')}: must be array if x-kubernetes-list-type is specified`);
  else if (listType === 'set' && items) {
    if (items.type === 'array' && items['x-kubernetes-list-type'] !== undefined && items['x-kubernetes-list-type'] !== 'atomic')
      out.push(`${path}.items.x-kubernetes-list-type: must be atomic as item of a list with x-kubernetes-list-type=set`);
    if (items.type === 'object' && items['x-kubernetes-map-type'] !== 'atomic')
      out.push(`${path}.items.x-kubernetes-map-type: must be atomic as item of a list with x-kubernetes-list-type=set`);
  }
  if (listType !== undefined && !['atomic', 'set', 'map'].includes(listType)) out.push(`${child(path, 'x-kubernetes-list-type')}: unsupported value "${listType}": must be atomic, set or map`);
  const keys: string[] = s['x-kubernetes-list-map-keys'] ?? [];
  if (keys.length && listType !== 'map') out.push(`${child(path, 'x-kubernetes-list-type')}: must be map if x-kubernetes-list-map-keys is non-empty`);
  if (listType === 'map') {
    if (!keys.length) out.push(`${child(path, 'x-kubernetes-list-map-keys')}: must not be empty if x-kubernetes-list-type is map`);
    if (!s.items) out.push(`${child(path, 'items')}: must have a schema if x-kubernetes-list-type is map`);
    if (items && items.type !== 'object') out.push(`${path}.items.type: must be object if parent array's x-kubernetes-list-type is map`);
    if (items?.type === 'object') {
      const seen = new Set<string>();
      for (const k of keys) {
        const p = items.properties?.[k];
        if (!p) out.push(`${child(path, 'x-kubernetes-list-map-keys')}: entries must all be names of item properties`);
        else {
          if (p.type === 'array' || p.type === 'object') out.push(`${path}.items.properties[${k}].type: must be a scalar type if parent array's x-kubernetes-list-type is map`);
          if (!(items.required ?? []).includes(k) && p.default === undefined)
            out.push(`${path}.items.properties[${k}].default: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property`);
          if (p.nullable) out.push(`${path}.items.properties[${k}].nullable: this property is in x-kubernetes-list-map-keys, so it cannot be nullable`);
        }
        if (seen.has(k)) out.push(`${child(path, 'x-kubernetes-list-map-keys')}: must not contain duplicate entries`);
        seen.add(k);
      }
    }
  }
  if ((listType === 'set' || listType === 'map') && items?.nullable) out.push(`${path}.items.nullable: cannot be nullable when x-kubernetes-list-type is ${listType}`);
  (s['x-kubernetes-validations'] ?? []).forEach((r: { rule?: string; message?: string }, i: number) => {
    const p = `${child(path, 'x-kubernetes-validations')}[${i}]`;
    const rule = (r.rule ?? '').trim();
    const msg = (r.message ?? '').trim();
    if (!rule) out.push(`${p}.rule: rule is not specified`);
    else if (r.message !== undefined && r.message.length > 0 && !msg) out.push(`${p}.message: message must be non-empty if specified`);
    else if (/[\n\r]/.test(msg)) out.push(`${p}.message: message must not contain line breaks`);
    else if (/[\n\r]/.test(rule) && !msg) out.push(`${p}.message: message must be specified if rule contains line breaks`);
  });

  for (const [k, v] of Object.entries<Schema>(s.properties ?? {}))
    crdRules(v, `${path}.properties[${k}]`, false, insideMeta || (isRoot && (k === 'metadata' || k === 'apiVersion' || k === 'kind')), out);
  if (typeof s.additionalProperties === 'object') crdRules(s.additionalProperties, child(path, 'additionalProperties'), false, insideMeta, out);
  if (items) crdRules(items, child(path, 'items'), false, insideMeta, out);
  for (const k of ['allOf', 'anyOf', 'oneOf']) (s[k] ?? []).forEach((n: Schema, i: number) => crdRules(n, `${path}.${k}[${i}]`, false, insideMeta, out));
  if (s.not) crdRules(s.not, child(path, 'not'), false, insideMeta, out);
}

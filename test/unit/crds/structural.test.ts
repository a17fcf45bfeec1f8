// crds/gen/structural.ts applies the API server's rules for CRD schemas. One case per rule, each
// taken from apiextensions-apiserver (pkg/apiserver/schema/validation.go for the structural rules,
// pkg/apis/apiextensions/validation/validation.go for the CRD schema rules): a schema that breaks
// the rule gets the API server's message, and a neighbouring one that keeps it gets none.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as yaml from 'js-yaml';
import { structuralProblems } from '../../../crds/gen/structural.js';

/** A root schema around one field `f` of spec. */
const withField = (f: object) => ({ type: 'object', properties: { spec: { type: 'object', properties: { f } } } });
const F = 'openAPIV3Schema.properties[spec].properties[f]';

function refused(schema: object, expected: string) {
  const problems = structuralProblems(schema);
  assert.ok(problems.includes(expected), `expected "${expected}" among:\n  ${problems.join('\n  ') || '(none)'}`);
}
const accepted = (schema: object) => assert.deepEqual(structuralProblems(schema), []);

describe('the structural check (the API server’s CRD schema rules)', () => {
  describe('x-kubernetes-int-or-string', () => {
    it('accepts anyOf: [{type: integer}, {type: string}] with the bounds on the field itself', () =>
      accepted(withField({ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }], minimum: 1, maxLength: 32, pattern: '^\\d+$' })));
    it('accepts allOf whose first item is that anyOf, followed by more value validations', () =>
      accepted(withField({ 'x-kubernetes-int-or-string': true, allOf: [{ anyOf: [{ type: 'integer' }, { type: 'string' }] }, { not: { enum: ['x'] } }] })));
    it('accepts it with no anyOf at all (type empty is allowed for int-or-string)', () => accepted(withField({ 'x-kubernetes-int-or-string': true })));
    it('refuses branches that carry anything beside their type: the anyOf is then an ordinary one, whose types are forbidden', () => {
      const s = withField({ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', maxLength: 32 }] });
      refused(s, `${F}.anyOf[0].type: must be empty to be structural`);
      refused(s, `${F}.anyOf[1].type: must be empty to be structural`);
    });
    it('refuses the branches in the other order', () =>
      refused(withField({ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'string' }, { type: 'integer' }] }), `${F}.anyOf[0].type: must be empty to be structural`));
    it('refuses the exception under oneOf (only anyOf and allOf[0].anyOf are exempt)', () =>
      refused(withField({ 'x-kubernetes-int-or-string': true, oneOf: [{ type: 'integer' }, { type: 'string' }] }), `${F}.oneOf[0].type: must be empty to be structural`));
    it('refuses the pattern in a later allOf item', () =>
      refused(withField({ 'x-kubernetes-int-or-string': true, allOf: [{ minimum: 1 }, { anyOf: [{ type: 'integer' }, { type: 'string' }] }] }), `${F}.allOf[1].anyOf[0].type: must be empty to be structural`));
    it('refuses it with x-kubernetes-preserve-unknown-fields', () =>
      refused(withField({ 'x-kubernetes-int-or-string': true, 'x-kubernetes-preserve-unknown-fields': true }), `${F}.x-kubernetes-preserve-unknown-fields: must be false if x-kubernetes-int-or-string is true`));
    it('refuses it with x-kubernetes-embedded-resource', () =>
      refused(withField({ 'x-kubernetes-int-or-string': true, 'x-kubernetes-embedded-resource': true, type: 'object', properties: { a: { type: 'string' } } }), `${F}.x-kubernetes-embedded-resource: must be false if x-kubernetes-int-or-string is true`));
    it('the CRDs as they were (constraints inside the branches) give the 8 errors a real API server gave', () => {
      let n = 0;
      for (const f of ['booking', 'clusterconfig']) {
        const old = yaml.load(execFileSync('git', ['show', '204aaff:crds/' + f + '.yaml'], { encoding: 'utf8' })) as any;
        n += structuralProblems(old.spec.versions[0].schema.openAPIV3Schema).filter((p) => p.endsWith('type: must be empty to be structural')).length;
      }
      assert.equal(n, 8);
    });
  });

  describe('value validations (anyOf, allOf, oneOf, not) may not carry structure', () => {
    const cases: [string, object, string][] = [
      ['type', { type: 'string' }, 'type: must be empty to be structural'],
      ['default', { default: 'x' }, 'default: must be undefined to be structural'],
      ['title', { title: 'x' }, 'title: must be empty to be structural'],
      ['description', { description: 'x' }, 'description: must be empty to be structural'],
      ['nullable', { nullable: true }, 'nullable: must be false to be structural'],
      ['externalDocs', { externalDocs: { url: 'x' } }, 'externalDocs: must be undefined to be structural'],
      ['additionalProperties', { additionalProperties: { type: 'string' } }, 'additionalProperties: must be undefined to be structural'],
      ['x-kubernetes-preserve-unknown-fields', { 'x-kubernetes-preserve-unknown-fields': true }, 'x-kubernetes-preserve-unknown-fields: must be false to be structural'],
      ['x-kubernetes-embedded-resource', { 'x-kubernetes-embedded-resource': true }, 'x-kubernetes-embedded-resource: must be false to be structural'],
      ['x-kubernetes-int-or-string', { 'x-kubernetes-int-or-string': true }, 'x-kubernetes-int-or-string: must be false to be structural'],
      ['x-kubernetes-list-map-keys', { 'x-kubernetes-list-map-keys': ['a'] }, 'x-kubernetes-list-map-keys: must be empty to be structural'],
      ['x-kubernetes-list-type', { 'x-kubernetes-list-type': 'set' }, 'x-kubernetes-list-type: must be undefined to be structural'],
      ['x-kubernetes-map-type', { 'x-kubernetes-map-type': 'atomic' }, 'x-kubernetes-map-type: must be undefined to be structural'],
      ['x-kubernetes-validations', { 'x-kubernetes-validations': [{ rule: 'true' }] }, 'x-kubernetes-validations: must be empty to be structural'],
    ];
    for (const [what, branch, msg] of cases)
      it(`refuses ${what}`, () => refused(withField({ type: 'string', anyOf: [branch, { minLength: 1 }] }), `${F}.anyOf[0].${msg}`));
    it('accepts value validations (required, minimum, pattern, enum) there', () =>
      accepted({ type: 'object', properties: { spec: { type: 'object', properties: { a: { type: 'integer' } }, oneOf: [{ required: ['a'] }, { not: { required: ['a'] } }] } } }));
    it('refuses metadata in a nested context', () =>
      refused({ type: 'object', properties: { spec: { type: 'object', properties: { metadata: { type: 'object' } }, anyOf: [{ properties: { metadata: { required: ['x'] } } }] } } },
        'openAPIV3Schema.properties[spec].anyOf[0].properties[metadata]: must not be specified in a nested context'));
    it('refuses a nested field that is not specified outside the value validation (completeness)', () =>
      refused({ type: 'object', properties: { spec: { type: 'object', properties: { a: { type: 'string' } }, anyOf: [{ properties: { b: { minLength: 1 } } }] } } },
        'openAPIV3Schema.properties[spec].anyOf[0].properties[b]: must have a property without x-kubernetes-preserve-unknown-fields or type specified outside of value validation'));
    it('refuses a pattern that is not a regular expression', () => refused(withField({ type: 'string', pattern: '(' }), `${F}.pattern: must be a valid regular expression, but isn't: Invalid regular expression: /(/u: Unterminated group`));
  });

  describe('types and the root', () => {
    it('refuses a field without type', () => refused(withField({ description: 'x' }), `${F}.type: must not be empty for specified object fields`));
    it('refuses array items without type', () => refused(withField({ type: 'array', items: { minLength: 1 } }), `${F}.items.type: must not be empty for specified array items`));
    it('refuses an array without items', () => refused(withField({ type: 'array' }), `${F}.items: must be specified`));
    it('refuses a root that is not an object', () => refused({ type: 'string' }, 'openAPIV3Schema.type: must be object at the root'));
    it('refuses additionalProperties at the root', () => refused({ type: 'object', additionalProperties: { type: 'string' } }, 'openAPIV3Schema.additionalProperties: must not be used at the root'));
    it('refuses kind and apiVersion that are not strings', () => refused({ type: 'object', properties: { kind: { type: 'integer' } } }, 'openAPIV3Schema.properties[kind].type: must be string'));
    it('refuses metadata at the root that restricts more than name and generateName', () => {
      refused({ type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } },
        'openAPIV3Schema.properties[metadata]: must not specify anything other than name and generateName, but metadata is implicitly specified');
      accepted({ type: 'object', properties: { metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 63 } } } } });
    });
    it('refuses metadata whose type is not object', () => refused({ type: 'object', properties: { metadata: { type: 'string' } } }, 'openAPIV3Schema.properties[metadata].type: must be object'));
    it('refuses a default in top-level metadata', () => refused({ type: 'object', properties: { metadata: { type: 'object', default: {} } } }, 'openAPIV3Schema.properties[metadata].default: must not be set in top-level metadata'));
    it('refuses type null and unknown types', () => {
      refused(withField({ type: 'null' }), `${F}.type: type cannot be set to null, use nullable as an alternative`);
      refused(withField({ type: 'int' }), `${F}.type: unsupported value "int": must be one of array, boolean, integer, number, object, string`);
    });
  });

  describe('x-kubernetes-embedded-resource and x-kubernetes-preserve-unknown-fields', () => {
    it('refuses an embedded resource that is not an object', () => refused(withField({ 'x-kubernetes-embedded-resource': true, type: 'string' }), `${F}.type: must be object if x-kubernetes-embedded-resource is true`));
    it('refuses an embedded resource with additionalProperties', () =>
      refused(withField({ 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true, type: 'object', additionalProperties: { type: 'string' } }), `${F}.additionalProperties: must not be used if x-kubernetes-embedded-resource is set`));
    it('refuses an embedded resource without properties or preserve-unknown-fields', () =>
      refused(withField({ 'x-kubernetes-embedded-resource': true, type: 'object' }), `${F}.properties: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields`));
    it('refuses x-kubernetes-preserve-unknown-fields: false', () => refused(withField({ type: 'object', 'x-kubernetes-preserve-unknown-fields': false }), `${F}.x-kubernetes-preserve-unknown-fields: must be true or undefined`));
    it('accepts a field without type under preserve-unknown-fields', () => accepted(withField({ 'x-kubernetes-preserve-unknown-fields': true })));
  });

  describe('x-kubernetes-list-type, -list-map-keys and -map-type', () => {
    const list = (extra: object, items: object = { type: 'string' }) => withField({ type: 'array', items, ...extra });
    it('refuses a list type on a non-array', () => refused(withField({ type: 'string', 'x-kubernetes-list-type': 'set' }), `${F}.type: must be array if x-kubernetes-list-type is specified`));
    it('refuses an unknown list type', () => refused(list({ 'x-kubernetes-list-type': 'bag' }), `${F}.x-kubernetes-list-type: unsupported value "bag": must be atomic, set or map`));
    it('refuses a set of granular objects', () =>
      refused(list({ 'x-kubernetes-list-type': 'set' }, { type: 'object', properties: { a: { type: 'string' } } }), `${F}.items.x-kubernetes-map-type: must be atomic as item of a list with x-kubernetes-list-type=set`));
    it('refuses a set of non-atomic lists', () =>
      refused(list({ 'x-kubernetes-list-type': 'set' }, { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' }), `${F}.items.x-kubernetes-list-type: must be atomic as item of a list with x-kubernetes-list-type=set`));
    it('refuses nullable items in a set', () => refused(list({ 'x-kubernetes-list-type': 'set' }, { type: 'string', nullable: true }), `${F}.items.nullable: cannot be nullable when x-kubernetes-list-type is set`));
    it('refuses map keys without list type map', () => refused(list({ 'x-kubernetes-list-type': 'set', 'x-kubernetes-list-map-keys': ['a'] }), `${F}.x-kubernetes-list-type: must be map if x-kubernetes-list-map-keys is non-empty`));
    const obj = { type: 'object', required: ['k'], properties: { k: { type: 'string' }, o: { type: 'object' }, d: { type: 'string', default: 'x' }, n: { type: 'string' } } };
    it('accepts a map list keyed by a required scalar', () => accepted(list({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k', 'd'] }, obj)));
    it('refuses a map list without keys', () => refused(list({ 'x-kubernetes-list-type': 'map' }, obj), `${F}.x-kubernetes-list-map-keys: must not be empty if x-kubernetes-list-type is map`));
    it('refuses a map list of non-objects', () => refused(list({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'] }), `${F}.items.type: must be object if parent array's x-kubernetes-list-type is map`));
    it('refuses a key that is not an item property', () => refused(list({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['zz'] }, obj), `${F}.x-kubernetes-list-map-keys: entries must all be names of item properties`));
    it('refuses a key that is not a scalar', () => refused(list({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k', 'o'] }, obj), `${F}.items.properties[o].type: must be a scalar type if parent array's x-kubernetes-list-type is map`));
    it('refuses a key that is neither required nor defaulted', () =>
      refused(list({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['n'] }, obj), `${F}.items.properties[n].default: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property`));
    it('refuses duplicate keys', () => refused(list({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k', 'k'] }, obj), `${F}.x-kubernetes-list-map-keys: must not contain duplicate entries`));
    it('refuses a map type on a non-object, and an unknown map type', () => {
      refused(withField({ type: 'string', 'x-kubernetes-map-type': 'atomic' }), `${F}.type: must be object if x-kubernetes-map-type is specified`);
      refused(withField({ type: 'object', 'x-kubernetes-map-type': 'flat' }), `${F}.x-kubernetes-map-type: unsupported value "flat": must be atomic or granular`);
    });
  });

  describe('x-kubernetes-validations (what can be checked without CEL)', () => {
    it('refuses an empty rule', () => refused(withField({ type: 'string', 'x-kubernetes-validations': [{ rule: ' ' }] }), `${F}.x-kubernetes-validations[0].rule: rule is not specified`));
    it('refuses a blank message', () => refused(withField({ type: 'string', 'x-kubernetes-validations': [{ rule: 'true', message: ' ' }] }), `${F}.x-kubernetes-validations[0].message: message must be non-empty if specified`));
    it('refuses a message with a line break', () => refused(withField({ type: 'string', 'x-kubernetes-validations': [{ rule: 'true', message: 'a\nb' }] }), `${F}.x-kubernetes-validations[0].message: message must not contain line breaks`));
    it('refuses a multi-line rule without a message', () => refused(withField({ type: 'string', 'x-kubernetes-validations': [{ rule: 'true &&\ntrue' }] }), `${F}.x-kubernetes-validations[0].message: message must be specified if rule contains line breaks`));
  });

  describe('the CRD schema rules', () => {
    it('refuses uniqueItems', () => refused(withField({ type: 'array', items: { type: 'string' }, uniqueItems: true }), `${F}.uniqueItems: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`));
    it('refuses properties with additionalProperties', () =>
      refused(withField({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } }), `${F}.additionalProperties: additionalProperties and properties are mutual exclusive`));
    for (const [k, v] of [['$ref', '#/x'], ['id', 'x'], ['patternProperties', { a: {} }], ['definitions', { a: {} }], ['dependencies', { a: ['b'] }], ['additionalItems', false]] as const)
      it(`refuses ${k}`, () => refused(withField({ type: 'object', [k]: v }), `${F}.${k}: ${k} is not supported`));
    it('refuses items given as an array', () => refused(withField({ type: 'array', items: [{ type: 'string' }] }), `${F}.items: items must be a schema object and not an array`));
  });
});

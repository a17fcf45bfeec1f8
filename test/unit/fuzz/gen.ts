// Generators shared by the property tests: YAML-ish text, and valid objects to mutate.
import fc from 'fast-check';

const YAML_TOKENS = [
  '---', '...', '- ', '{', '}', '[', ']', ': ', ':', ',', ' ', '  ', '\n', '\t', '&a ', '*a', '&b ', '*b', '!!str ', '!!int ', '!!binary ', '!!js/function ',
  '? ', '|', '>', '"', "'", '#', '%YAML 1.2\n', '%TAG ! tag:x,2000:\n', '<<: *a', 'kind: List\n', 'items:\n', 'apiVersion: kiwi.dev/v1alpha1\n', 'kind: Booking\n',
  'kind: Node\n', 'metadata:\n', '  name: x\n', 'spec:\n', '  nodes: [n1]\n', '  duration: 1h\n', 'null', '~', 'true', '0x1F', '1e400', '-.inf', '.nan', '\\u0000', '\u0000', '\ufeff',
  '2026-01-01T00:00:00Z', '__proto__: {}\n', 'constructor: x\n',
];

/** Text that looks like YAML: tokens mixed with random short strings. */
export const yamlish = fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...YAML_TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), { maxLength: 60 }).map((a) => a.join(''));

export const anyText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), yamlish);

export const validBooking = () => ({
  apiVersion: 'kiwi.dev/v1alpha1',
  kind: 'Booking',
  metadata: { name: 'bk-1', namespace: 'alice', labels: { team: 'a' } },
  spec: { user: 'alice', nodes: ['n01', 'n02'], duration: '2h', queue: true },
});
export const validNode = () => ({
  apiVersion: 'kiwi.dev/v1alpha1',
  kind: 'Node',
  metadata: { name: 'n01', labels: { gpu: 'a100' } },
  spec: { unschedulable: false },
});

/** Odd values to put anywhere in an object. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, true, false, 0, -1, 1.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 2, 1e400, '', ' ', '-1h', '0', '1h', 'x'.repeat(300), '\u0000', '../..', '__proto__', [], {}, [[[]]], { __proto__: null }),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** Paths inside a valid object, to mutate there (existing fields and new ones). */
export const mutationPath = fc.array(fc.constantFrom('apiVersion', 'kind', 'metadata', 'spec', 'status', 'name', 'namespace', 'labels', 'annotations', 'nodes', 'duration', 'start', 'end', 'count', 'user', 'queue', 'cancelled', 'nodeSelector', 'unschedulable', '0', '1', 'x', '__proto__', 'constructor'), { minLength: 1, maxLength: 4 });

export function mutate(obj: any, path: string[], value: unknown, op: 'set' | 'delete'): any {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    if (k === '__proto__' || k === 'constructor') return obj; // we do not poison our own test objects
    if (cur[k] === null || typeof cur[k] !== 'object') cur[k] = {};
    cur = cur[k];
  }
  const last = path[path.length - 1];
  if (last === '__proto__' || last === 'constructor') Object.defineProperty(cur, last, { value, enumerable: true, configurable: true, writable: true });
  else if (op === 'delete') delete cur[last];
  else cur[last] = value;
  return obj;
}

/** Runs fn and returns its duration in ms. */
export function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

// Pure: kubectl's JSONPath templates (-o jsonpath=..., custom-columns, --sort-by), with the
// semantics of k8s.io/client-go/util/jsonpath: text outside {} is printed as is; inside, `.a.b`,
// `['a']`, `..a` (recursive descent), `*`, `[i]`, `[start:end:step]` (negative from the end),
// `[a,b]` unions, `[?(@.x == "y")]` filters (==, !=, <, >, <=, >=, or existence), `"text"`,
// `@`/`$`, and `{range EXPR}...{end}`. The results of one {} are joined by a space. Missing keys
// give nothing (kubectl's default, --allow-missing-template-keys=true); an index out of bounds
// is an error, as in kubectl. One difference, on purpose: a map or list prints as JSON, where Go
// prints `map[a:b]`, so that a script can parse it.
import { usage } from '../usage.js';

type Step =
  | { t: 'field'; name: string }
  | { t: 'wild' }
  | { t: 'recurse' }
  | { t: 'slice'; start?: number; end?: number; step?: number; index: boolean }
  | { t: 'union'; paths: Step[][] }
  | { t: 'filter'; left: Step[]; op: string; right: Operand };

type Operand = { t: 'path'; steps: Step[] } | { t: 'lit'; value: unknown };

type Node = { t: 'text'; text: string } | { t: 'expr'; steps: Step[] } | { t: 'range'; steps: Step[]; body: Node[] };

export interface JsonPath {
  source: string;
  nodes: Node[];
}

const err = (template: string, why: string) => usage(`jsonpath ${JSON.stringify(template)}: ${why}`);

/** Parses a template such as `{range .items[*]}{.metadata.name}{"\n"}{end}`. */
export function parseJsonPath(template: string): JsonPath {
  const top: Node[] = [];
  const stack: Node[][] = [top];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      stack[stack.length - 1].push({ t: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) stack[stack.length - 1].push({ t: 'text', text: template.slice(i, open) });
    const close = actionEnd(template, open);
    if (close < 0) throw err(template, 'unclosed action (a "{" without its "}")');
    const action = template.slice(open + 1, close).trim();
    i = close + 1;
    const cur = stack[stack.length - 1];
    if (action === 'end') {
      if (stack.length === 1) throw err(template, 'not in range, nothing to end');
      stack.pop();
      continue;
    }
    const m = /^range\s+(.*)$/s.exec(action);
    if (m) {
      const node: Node = { t: 'range', steps: parsePath(m[1].trim(), template), body: [] };
      cur.push(node);
      stack.push(node.body);
      continue;
    }
    if (/^"(?:[^"\\]|\\.)*"$/.test(action)) {
      cur.push({ t: 'text', text: JSON.parse(action) });
      continue;
    }
    cur.push({ t: 'expr', steps: parsePath(action, template) });
  }
  if (stack.length > 1) throw err(template, 'a {range} without its {end}');
  return { source: template, nodes: top };
}

/** The "}" closing the action opened at `open`, skipping quoted strings. */
function actionEnd(s: string, open: number): number {
  return scanTop(s, open + 1, (_k, c) => c === '}');
}

const FIELD_END = new Set(['.', '[', ']', ',', ' ', '\t', '(', ')', '=', '!', '<', '>', '@', '$', '{', '}']);

function parsePath(text: string, template: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  if (text[i] === '@' || text[i] === '$') i++;
  while (i < text.length) {
    const c = text[i];
    if (c === '.') {
      // `..x` is recursive descent, then x; `.x` a child; either may be `*`
      if (text[i + 1] === '.') {
        steps.push({ t: 'recurse' });
        i++;
      }
      i++;
      if (text[i] === '*') {
        steps.push({ t: 'wild' });
        i++;
      } else i = field(i);
      continue;
    }
    if (c === '[') {
      const end = bracketEnd(text, i);
      if (end < 0) throw err(template, `unclosed "[" in ${text}`);
      steps.push(bracket(text.slice(i + 1, end).trim()));
      i = end + 1;
      continue;
    }
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    // A path without a leading dot (custom-columns' relaxed form): a field.
    if (i === 0) {
      i = field(i);
      continue;
    }
    throw err(template, `unexpected ${JSON.stringify(c)} in ${JSON.stringify(text)}`);
  }
  return steps;

  function field(at: number): number {
    let name = '';
    let k = at;
    while (k < text.length && !FIELD_END.has(text[k])) {
      if (text[k] === '\\' && k + 1 < text.length) {
        name += text[k + 1]; // `\.`: a dot inside a key, as in kiwi\.dev/drain
        k += 2;
      } else name += text[k++];
    }
    if (!name) throw err(template, `a field name is missing in ${JSON.stringify(text)}`);
    steps.push({ t: 'field', name });
    return k;
  }

  function bracket(inner: string): Step {
    if (inner === '*') return { t: 'wild' };
    if (inner.startsWith('?')) {
      const m = /^\?\s*\((.*)\)$/s.exec(inner);
      if (!m) throw err(template, `a filter is written [?(@.field == "value")], not [${inner}]`);
      const body = m[1].trim();
      const om = /^(.*?)\s*(==|!=|<=|>=|<|>)\s*(.*)$/s.exec(body);
      if (!om) return { t: 'filter', left: parsePath(body, template), op: 'exists', right: { t: 'lit', value: true } };
      return { t: 'filter', left: parsePath(om[1].trim(), template), op: om[2], right: operand(om[3].trim()) };
    }
    const parts = splitTop(inner);
    if (parts.length > 1) return { t: 'union', paths: parts.map((p) => unionPath(p.trim())) };
    const q = /^'((?:[^'\\]|\\.)*)'$|^"((?:[^"\\]|\\.)*)"$/.exec(inner);
    if (q) return { t: 'union', paths: [unionPath(inner)] };
    const sm = /^(-?\d+)?\s*(?::\s*(-?\d+)?\s*(?::\s*(-?\d+)?)?)?$/.exec(inner);
    if (!sm || inner === '') throw err(template, `[${inner}] is not an index, a slice, a union or a filter`);
    const num = (x?: string) => (x === undefined ? undefined : Number(x));
    if (!inner.includes(':')) return { t: 'slice', start: num(sm[1]), index: true };
    const step = num(sm[3]);
    if (step !== undefined && step <= 0) throw err(template, `the step of [${inner}] must be positive`);
    return { t: 'slice', start: num(sm[1]), end: num(sm[2]), step, index: false };
  }

  /** `'metadata.name'` in a union is the path .metadata.name (kubectl's docs); `0` an index. */
  function unionPath(p: string): Step[] {
    const q = /^'((?:[^'\\]|\\.)*)'$|^"((?:[^"\\]|\\.)*)"$/.exec(p);
    if (q) return parsePath('.' + (q[1] ?? q[2]), template);
    if (/^-?\d+$/.test(p)) return [{ t: 'slice', start: Number(p), index: true }];
    return parsePath(p, template);
  }

  function operand(s: string): Operand {
    if (/^'.*'$|^".*"$/s.test(s)) return { t: 'lit', value: s.slice(1, -1) };
    if (/^-?\d+(\.\d+)?$/.test(s)) return { t: 'lit', value: Number(s) };
    if (s === 'true' || s === 'false') return { t: 'lit', value: s === 'true' };
    if (s.startsWith('@') || s.startsWith('$') || s.startsWith('.')) return { t: 'path', steps: parsePath(s, template) };
    throw err(template, `${s} is not a value to compare with (quote a string: "${s}")`);
  }
}

/**
 * Walks `s` from `from` outside quoted strings (a backslash escapes the next character), keeping
 * the depth of brackets and parentheses; `at(k, c, depth)` sees each character outside quotes,
 * with the depth after it. Returns the first k where `at` says true, else -1.
 */
function scanTop(s: string, from: number, at: (k: number, c: string, depth: number) => boolean): number {
  let depth = 0;
  let q: string | undefined;
  for (let k = from; k < s.length; k++) {
    const c = s[k];
    if (q) {
      if (c === '\\') k++;
      else if (c === q) q = undefined;
      continue;
    }
    if (c === '"' || c === "'") q = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    if (at(k, c, depth)) return k;
  }
  return -1;
}

/** The index of the `]` that closes the bracket at `open`, or -1. */
function bracketEnd(s: string, open: number): number {
  return scanTop(s, open, (_k, c, depth) => c === ']' && depth === 0);
}

/** Splits on commas outside quotes and brackets. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let from = 0;
  scanTop(s, 0, (k, c, depth) => {
    if (c === ',' && depth === 0) {
      out.push(s.slice(from, k));
      from = k + 1;
    }
    return false;
  });
  out.push(s.slice(from));
  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The values a path reaches from each input value. */
export function evalSteps(steps: Step[], input: unknown[]): unknown[] {
  let cur = input;
  for (const s of steps) cur = evalStep(s, cur);
  return cur;
}

function evalStep(s: Step, input: unknown[]): unknown[] {
  const out: unknown[] = [];
  switch (s.t) {
    case 'field':
      for (const v of input) if (isObj(v) && Object.prototype.hasOwnProperty.call(v, s.name)) out.push(v[s.name]);
      return out;
    case 'wild':
      for (const v of input) {
        if (Array.isArray(v)) out.push(...v);
        else if (isObj(v)) out.push(...Object.values(v));
      }
      return out;
    case 'recurse': {
      const walk = (v: unknown) => {
        const kids = Array.isArray(v) ? v : isObj(v) ? Object.values(v) : [];
        if (!kids.length) return;
        out.push(v);
        for (const k of kids) walk(k);
      };
      for (const v of input) walk(v);
      return out;
    }
    case 'slice':
      for (const v of input) {
        if (v === null || v === undefined) continue;
        if (!Array.isArray(v)) throw new Error(`${describe(v)} is not array or slice`);
        const len = v.length;
        let start = s.start ?? 0;
        if (start < 0) start += len;
        let end = s.index ? start + 1 : (s.end ?? len);
        if (end < 0) end += len;
        if (end !== start) {
          if (start >= len || start < 0) throw new Error(`array index out of bounds: index ${start}, length ${len}`);
          if (end > len) throw new Error(`array index out of bounds: index ${end - 1}, length ${len}`);
        }
        for (let k = start; k < end; k += s.step ?? 1) out.push(v[k]);
      }
      return out;
    case 'union':
      for (const p of s.paths) out.push(...evalSteps(p, input));
      return out;
    case 'filter':
      for (const v of input) {
        if (v === null || v === undefined) continue;
        if (!Array.isArray(v)) throw new Error(`${describe(v)} is not array or slice and cannot be filtered`);
        for (const item of v) {
          const lefts = evalSteps(s.left, [item]);
          if (s.op === 'exists') {
            if (lefts.length) out.push(item);
            continue;
          }
          if (lefts.length !== 1) {
            if (lefts.length === 0) continue; // a missing key compares to nothing
            throw new Error('can only compare one element at a time');
          }
          const rights = s.right.t === 'lit' ? [s.right.value] : evalSteps(s.right.steps, [item]);
          if (rights.length !== 1) continue;
          if (compareValues(lefts[0], s.op, rights[0])) out.push(item);
        }
      }
      return out;
  }
}

function compareValues(a: unknown, op: string, b: unknown): boolean {
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  if (typeof a === 'number' && typeof b === 'number') return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
  if (typeof a === 'string' && typeof b === 'string') return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
  throw new Error(`cannot compare ${describe(a)} with ${describe(b)} by ${op}`);
}

function describe(v: unknown): string {
  return Array.isArray(v) ? 'a list' : isObj(v) ? 'an object' : JSON.stringify(v) ?? 'nothing';
}

/** How one result prints: strings as they are, other scalars as JSON, maps and lists as JSON. */
export function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null) return '<nil>';
  return JSON.stringify(v);
}

/** Runs a template over one value (an object, or a List of objects). */
export function executeJsonPath(p: JsonPath, data: unknown): string {
  const run = (nodes: Node[], cur: unknown): string => {
    let out = '';
    for (const n of nodes) {
      if (n.t === 'text') out += n.text;
      else if (n.t === 'expr') out += evalSteps(n.steps, [cur]).map(textOf).join(' ');
      else for (const item of evalSteps(n.steps, [cur])) out += run(n.body, item);
    }
    return out;
  };
  try {
    return run(p.nodes, data);
  } catch (e) {
    throw new Error(`error executing jsonpath ${JSON.stringify(p.source)}: ${(e as Error).message}`);
  }
}

/**
 * kubectl's relaxed form for custom-columns and --sort-by: `.a.b`, `a.b` and `{.a.b}` all mean
 * `{.a.b}`. Returns the steps of the single expression.
 */
export function parseRelaxed(expr: string, what: string): Step[] {
  let e = expr.trim();
  if (e.startsWith('{') && e.endsWith('}')) e = e.slice(1, -1).trim();
  if (!e) throw usage(`${what}: an empty expression; give a field path such as .metadata.name`);
  if (e.startsWith('$')) e = e.slice(1);
  if (!e.startsWith('.') && !e.startsWith('[')) e = '.' + e;
  try {
    return parsePath(e, expr);
  } catch (x) {
    throw usage(`${what}: ${(x as Error).message.replace(/^jsonpath "[^"]*": /, '')}`);
  }
}

export type { Step };

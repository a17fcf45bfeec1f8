// Pure: kubectl's -o custom-columns=HEADER:PATH,... and custom-columns-file (a line of headers,
// then a line of paths), and --sort-by. Paths are kubectl's relaxed JSONPath (.a.b, a.b or
// {.a.b}); a cell with no value reads <none>, several values are joined by commas, as kubectl does.
import { usage } from '../usage.js';
import type { Column } from './columns.js';
import { evalSteps, parseRelaxed, textOf, type Step } from './jsonpath.js';

function column(header: string, expr: string, what: string): Column {
  const steps = parseRelaxed(expr, what);
  return { header, priority: 0, value: (obj) => cellOf(evalSteps(steps, [obj])) };
}

function cellOf(values: unknown[]): string {
  const shown = values.filter((v) => v !== undefined);
  return shown.length ? shown.map((v) => textOf(v).replace(/\s+/g, ' ')).join(',') : '<none>';
}

export function parseCustomColumns(spec: string): Column[] {
  return splitColumns(spec).map((part) => {
    const i = part.indexOf(':');
    if (i <= 0 || i === part.length - 1) throw usage(`-o custom-columns: "${part}" is not HEADER:PATH (e.g. NAME:.metadata.name)`);
    return column(part.slice(0, i), part.slice(i + 1), `-o custom-columns ${part}`);
  });
}

/** Commas inside [] or {} (a union, a filter) do not end a column. */
function splitColumns(spec: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let k = 0; k < spec.length; k++) {
    const c = spec[k];
    if (c === '[' || c === '{' || c === '(') depth++;
    else if (c === ']' || c === '}' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(spec.slice(from, k));
      from = k + 1;
    }
  }
  out.push(spec.slice(from));
  return out.map((s) => s.trim()).filter(Boolean);
}

/** kubectl's custom-columns-file: headers on the first line, paths on the second, by whitespace. */
export function customColumnsFile(text: string): Column[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length !== 2) throw usage(`-o custom-columns-file: the file must have exactly 2 lines (headers, then paths); it has ${lines.length}`);
  const headers = lines[0].split(/\s+/);
  const paths = lines[1].split(/\s+/);
  if (headers.length !== paths.length) throw usage(`-o custom-columns-file: ${headers.length} headers but ${paths.length} paths`);
  return headers.map((h, i) => column(h, paths[i], `-o custom-columns-file column ${h}`));
}

/** kubectl's natural order: numbers by value, strings with digit runs compared as numbers. */
function less(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return textOf(a).localeCompare(textOf(b), 'en', { numeric: true });
}

/**
 * --sort-by=PATH: a stable sort on the first value the path gives; objects without one come
 * first (kubectl's order). Refuses a path that is a list or a map: it cannot be ordered.
 */
export function sortBy<T>(objects: T[], expr: string): T[] {
  const steps: Step[] = parseRelaxed(expr, `--sort-by ${expr}`);
  const keyed = objects.map((o, i) => ({ o, i, v: evalSteps(steps, [o])[0] }));
  for (const k of keyed)
    if (k.v !== null && typeof k.v === 'object') throw usage(`--sort-by ${expr}: the field is ${Array.isArray(k.v) ? 'a list' : 'a map'}, which cannot be sorted; name a field inside it (e.g. ${expr}[0])`);
  keyed.sort((x, y) => {
    const ax = x.v === undefined || x.v === null;
    const ay = y.v === undefined || y.v === null;
    if (ax || ay) return ax && ay ? x.i - y.i : ax ? -1 : 1;
    return less(x.v, y.v) || x.i - y.i;
  });
  return keyed.map((k) => k.o);
}

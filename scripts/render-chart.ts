// Renders charts/kiwi without Helm (which this project's machines cannot install), for the
// plain subset of Go templates the chart keeps to: values, .Release/.Chart fields, if/else/end,
// and the pipes quote, toYaml, toJson, indent, nindent. Anything else is an error, so the
// templates stay plain enough that Helm and this renderer agree.
// `tsx scripts/render-chart.ts` regenerates manifests/ (test/unit/deploy checks it is current).
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';

type Ctx = { Values: any; Release: { Name: string; Namespace: string; Service: string }; Chart: any };

function lookup(ctx: Ctx, path: string): unknown {
  if (!path.startsWith('.')) throw new Error(`unsupported value "${path}"`);
  let cur: any = ctx;
  for (const p of path.slice(1).split('.')) cur = cur?.[p];
  return cur;
}

function toYaml(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  return yaml.dump(v, { lineWidth: -1, noRefs: true, sortKeys: false }).replace(/\n$/, '');
}

function evalExpr(expr: string, ctx: Ctx): unknown {
  const stages = expr.split('|').map((s) => s.trim());
  let val: unknown;
  const head = stages[0].split(/\s+/);
  if (head.length === 1) val = lookup(ctx, head[0]);
  else if (head.length === 2 && (head[0] === 'toYaml' || head[0] === 'toJson' || head[0] === 'quote')) val = pipe(head[0], [], lookup(ctx, head[1]));
  else throw new Error(`unsupported expression "${expr}"`);
  for (const st of stages.slice(1)) {
    const [fn, ...args] = st.split(/\s+/);
    val = pipe(fn, args, val);
  }
  return val;
}

function pipe(fn: string, args: string[], v: unknown): unknown {
  switch (fn) {
    case 'quote':
      return JSON.stringify(v === undefined || v === null ? '' : String(v));
    case 'toYaml':
      return toYaml(v);
    case 'toJson':
      return JSON.stringify(v);
    case 'indent':
    case 'nindent': {
      const pad = ' '.repeat(Number(args[0]));
      const body = String(v).split('\n').map((l) => (l ? pad + l : l)).join('\n');
      return fn === 'nindent' ? '\n' + body : body;
    }
    default:
      throw new Error(`unsupported function "${fn}"`);
  }
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

export function renderTemplate(src: string, ctx: Ctx, name = 'template'): string {
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  // Tokens: text and actions, with Helm's whitespace trimming applied.
  const tokens: ({ t: 'text'; v: string } | { t: 'act'; v: string })[] = [];
  let last = 0;
  let m: RegExpExecArray | null;
  let trimNext = false;
  while ((m = re.exec(src))) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1] === '-') text = text.replace(/\s+$/, '');
    tokens.push({ t: 'text', v: text });
    tokens.push({ t: 'act', v: m[2] });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  let tail = src.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  tokens.push({ t: 'text', v: tail });

  let out = '';
  const stack: { active: boolean; taken: boolean }[] = [];
  const on = () => stack.every((s) => s.active);
  for (const tok of tokens) {
    if (tok.t === 'text') {
      if (on()) out += tok.v;
      continue;
    }
    const a = tok.v;
    if (a.startsWith('/*')) continue;
    let c: RegExpExecArray | null;
    if ((c = /^if\s+(not\s+)?(\S+)$/.exec(a))) {
      const v = truthy(lookup(ctx, c[2]));
      const cond = c[1] ? !v : v;
      stack.push({ active: cond, taken: cond });
    } else if (a === 'else') {
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`${name}: else without if`);
      top.active = !top.taken;
      top.taken = true;
    } else if (a === 'end') {
      if (!stack.pop()) throw new Error(`${name}: end without if`);
    } else if (on()) {
      const v = evalExpr(a, ctx);
      out += v === undefined || v === null ? '' : String(v);
    }
  }
  if (stack.length) throw new Error(`${name}: if without end`);
  return out;
}

const root = join(fileURLToPath(import.meta.url), '..', '..');

export function renderChart(valuesOverride: Record<string, unknown> = {}, release = { Name: 'kiwi', Namespace: 'kiwi-system' }): { file: string; text: string }[] {
  const chartDir = join(root, 'charts', 'kiwi');
  const chart = yaml.load(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as any;
  const values = merge(yaml.load(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as any, valuesOverride);
  const ctx: Ctx = { Values: values, Release: { ...release, Service: 'Helm' }, Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion } };
  const tdir = join(chartDir, 'templates');
  return readdirSync(tdir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ file: f, text: renderTemplate(readFileSync(join(tdir, f), 'utf8'), ctx, f).trim() }))
    .filter((r) => r.text !== '');
}

function merge(a: any, b: any): any {
  if (b === undefined) return a;
  if (a && typeof a === 'object' && !Array.isArray(a) && b && typeof b === 'object' && !Array.isArray(b)) {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
    return out;
  }
  return b;
}

const HEADER = '# GENERATED by scripts/render-chart.ts from charts/kiwi. Do not edit: change the chart and run `npm run manifests`.\n';

/** Everything manifests/ holds that comes from the chart: file name -> content. */
export function renderManifests(): Map<string, string> {
  const files = new Map<string, string>();
  const join3 = (parts: { file: string; text: string }[]) => HEADER + parts.map((p) => `---\n# Source: kiwi/templates/${p.file}\n${p.text}\n`).join('');
  const external = renderChart({ etcd: { bundled: false } });
  files.set('base/kiwi.yaml', join3(external));
  const bundled = renderChart({ etcd: { bundled: true } });
  const onlyEtcd = bundled.filter((p) => p.file.startsWith('etcd'));
  files.set('overlays/bundled-etcd/etcd.yaml', join3(onlyEtcd));
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [f, text] of renderManifests()) {
    const p = join(root, 'manifests', f);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
    console.log(`wrote manifests/${f}`);
  }
}

// Printers: how objects become text, apart from what a verb does (kubectl's -o). Every verb that
// shows objects prints through here, so -o table|wide|yaml|json|name behave the same everywhere.
import type { KindInfo } from '../../../crds/api/kinds.js';
import { API_VERSION } from '../../../crds/api/types.js';
import { readFileSync } from 'node:fs';
import { columnsFor, type Column, type TableContext } from './columns.js';
import { columnWidths, renderTable, tableRows } from './table.js';
import { executeJsonPath, parseJsonPath, type JsonPath } from './jsonpath.js';
import { customColumnsFile, parseCustomColumns } from './custom-columns.js';
import { usage } from '../usage.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'yaml', 'json', 'name', 'jsonpath=TEMPLATE', 'jsonpath-file=FILE', 'custom-columns=SPEC', 'custom-columns-file=FILE'] as const;
export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json' | 'name' | 'jsonpath' | 'custom-columns';

/** -o as parsed: the format, and the template of jsonpath= or the columns of custom-columns=. */
export interface OutputSpec {
  format: OutputFormat;
  jsonpath?: JsonPath;
  columns?: Column[];
}

/** Reads -o: table, wide, yaml, json, name, jsonpath=..., jsonpath-file=..., custom-columns=..., custom-columns-file=... */
export function parseOutput(text: string | undefined, readFile: (f: string) => string = (f) => readFileSync(f, 'utf8')): OutputSpec {
  const t = text ?? 'table';
  const eq = t.indexOf('=');
  const name = eq < 0 ? t : t.slice(0, eq);
  const arg = eq < 0 ? undefined : t.slice(eq + 1);
  const file = (what: string) => {
    if (!arg) throw usage(`-o ${name}: give a file, e.g. -o ${name}=cols.txt`);
    try {
      return readFile(arg);
    } catch {
      throw usage(`-o ${what}=${arg}: cannot read the file`);
    }
  };
  switch (name) {
    case 'table':
    case 'wide':
    case 'yaml':
    case 'json':
    case 'name':
      if (arg !== undefined) break;
      return { format: name };
    case 'jsonpath':
      if (!arg) throw usage('-o jsonpath: give a template, e.g. -o jsonpath=\'{.items[*].metadata.name}\'');
      return { format: 'jsonpath', jsonpath: parseJsonPath(arg) };
    case 'jsonpath-file':
      return { format: 'jsonpath', jsonpath: parseJsonPath(file(name).replace(/\n$/, '')) };
    case 'custom-columns':
      if (!arg) throw usage('-o custom-columns: give HEADER:PATH pairs, e.g. -o custom-columns=NAME:.metadata.name,PHASE:.status.phase');
      return { format: 'custom-columns', columns: parseCustomColumns(arg) };
    case 'custom-columns-file':
      return { format: 'custom-columns', columns: customColumnsFile(file(name)) };
  }
  throw usage(`-o ${t}: unknown output format; use one of ${OUTPUT_FORMATS.join(', ')}`);
}

export interface PrintOptions {
  format: OutputFormat;
  kind: KindInfo;
  jsonpath?: JsonPath;
  columns?: Column[];
  allNamespaces?: boolean;
  /** One object asked for by name: yaml/json print it bare instead of in a List. */
  single?: boolean;
  now?: Date;
  /** What some table columns need (who holds each node). */
  table?: TableContext;
}

export async function printObjects(objects: unknown[], o: PrintOptions): Promise<string> {
  const now = o.now ?? new Date();
  const one = o.single && objects.length === 1;
  switch (o.format) {
    case 'json':
      return JSON.stringify(one ? objects[0] : asList(objects), null, 2) + '\n';
    case 'yaml':
      return toYaml(one ? objects[0] : asList(objects));
    case 'name':
      return objects.map((x: any) => nameOf(o.kind, x.metadata.name) + '\n').join('');
    case 'jsonpath':
      return executeJsonPath(o.jsonpath!, one ? objects[0] : asList(objects));
    case 'custom-columns':
      return renderTable(o.columns!.map((c) => c.header), tableRows(o.columns!, objects, now));
    default: {
      const cols = columnsFor(o.kind, { wide: o.format === 'wide', allNamespaces: o.allNamespaces });
      return renderTable(cols.map((c) => c.header), tableRows(cols, objects, now, o.table));
    }
  }
}

export function nameOf(kind: KindInfo, name: string): string {
  return `${kind.singular}.kiwi.dev/${name}`;
}

function asList(items: unknown[]) {
  return { apiVersion: API_VERSION, kind: 'List', items };
}

export async function toYaml(obj: unknown): Promise<string> {
  const yaml = await import('js-yaml'); // only for -o yaml
  return yaml.dump(obj, { noRefs: true, lineWidth: 120, sortKeys: false });
}

/**
 * Prints a watch (get -w): the table once with headers, then one row per change, padded to the
 * widths of the first table so the columns stay aligned. yaml/json print each object as a document.
 */
export class WatchPrinter {
  private cols: Column[];
  private widths: number[] = [];
  constructor(private readonly o: PrintOptions) {
    this.cols = o.format === 'custom-columns' ? o.columns! : columnsFor(o.kind, { wide: o.format === 'wide', allNamespaces: o.allNamespaces });
  }

  private tabular(): boolean {
    return this.o.format === 'table' || this.o.format === 'wide' || this.o.format === 'custom-columns';
  }

  async initial(objects: unknown[]): Promise<string> {
    if (!this.tabular()) return (await Promise.all(objects.map((x) => this.change(x)))).join('');
    const rows = tableRows(this.cols, objects, new Date(), this.o.table);
    const headers = this.cols.map((c) => c.header);
    // Later change lines are padded to these widths, so that they line up under the headers.
    this.widths = columnWidths(headers, rows);
    return renderTable(headers, rows, this.widths).replace(/\n$/, '') + '\n';
  }

  async change(obj: unknown, deleted = false): Promise<string> {
    switch (this.o.format) {
      case 'json':
        return JSON.stringify(obj) + '\n';
      case 'yaml':
        return '---\n' + (await toYaml(obj));
      case 'name':
        return nameOf(this.o.kind, (obj as any).metadata.name) + (deleted ? ' deleted' : '') + '\n';
      case 'jsonpath':
        return executeJsonPath(this.o.jsonpath!, obj);
      default: {
        const row = tableRows(this.cols, [obj], new Date(), this.o.table)[0];
        if (deleted) {
          const i = this.cols.findIndex((c) => c.header === 'STATUS' || c.header === 'PHASE');
          if (i >= 0) row[i] = 'Deleted';
        }
        let s = '';
        for (let i = 0; i < row.length - 1; i++) s += row[i].padEnd((this.widths[i] ?? 0) + 3);
        return (s + row[row.length - 1]).trimEnd() + '\n';
      }
    }
  }
}

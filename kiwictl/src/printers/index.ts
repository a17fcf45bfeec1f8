// Printers: how objects become text, apart from what a verb does (kubectl's -o). Every verb that
// shows objects prints through here, so -o table|wide|yaml|json|name behave the same everywhere.
import type { KindInfo } from '../../../crds/api/kinds.js';
import { API_VERSION } from '../../../crds/api/types.js';
import { columnsFor, type Column } from './columns.js';
import { columnWidths, renderTable, tableRows } from './table.js';
import { usage } from '../usage.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'yaml', 'json', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutput(text: string | undefined): OutputFormat {
  const f = (text ?? 'table') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(f)) throw usage(`-o ${text}: unknown output format; use one of ${OUTPUT_FORMATS.join(', ')}`);
  return f;
}

export interface PrintOptions {
  format: OutputFormat;
  kind: KindInfo;
  allNamespaces?: boolean;
  /** One object asked for by name: yaml/json print it bare instead of in a List. */
  single?: boolean;
  now?: Date;
}

export async function printObjects(objects: unknown[], o: PrintOptions): Promise<string> {
  const now = o.now ?? new Date();
  switch (o.format) {
    case 'json':
      return JSON.stringify(o.single && objects.length === 1 ? objects[0] : asList(objects), null, 2) + '\n';
    case 'yaml':
      return toYaml(o.single && objects.length === 1 ? objects[0] : asList(objects));
    case 'name':
      return objects.map((x: any) => nameOf(o.kind, x.metadata.name) + '\n').join('');
    default: {
      const cols = columnsFor(o.kind, { wide: o.format === 'wide', allNamespaces: o.allNamespaces });
      return renderTable(cols.map((c) => c.header), tableRows(cols, objects, now));
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
    this.cols = columnsFor(o.kind, { wide: o.format === 'wide', allNamespaces: o.allNamespaces });
  }

  async initial(objects: unknown[]): Promise<string> {
    if (this.o.format !== 'table' && this.o.format !== 'wide') return (await Promise.all(objects.map((x) => this.change(x)))).join('');
    const rows = tableRows(this.cols, objects, new Date());
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
      default: {
        const row = tableRows(this.cols, [obj], new Date())[0];
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

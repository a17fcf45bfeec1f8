// kubectl's table: upper-case headers, columns padded to the widest cell plus three spaces.
import type { Column, TableContext } from './columns.js';

export function tableRows(cols: Column[], objects: unknown[], now: Date, ctx?: TableContext): string[][] {
  return objects.map((o) => cols.map((c) => c.value(o, now, ctx)));
}

/** Renders rows under headers. A trailing column that is empty everywhere is dropped. */
export function renderTable(headers: string[], rows: string[][], widths?: number[]): string {
  let n = headers.length;
  while (n > 1 && rows.length > 0 && rows.every((r) => r[n - 1] === '')) n--;
  const w = widths ?? columnWidths(headers.slice(0, n), rows);
  const line = (cells: string[]) => {
    let s = '';
    for (let i = 0; i < n - 1; i++) s += cells[i].padEnd(w[i] + 3);
    return (s + cells[n - 1]).trimEnd();
  };
  const out = [line(headers)];
  for (const r of rows) out.push(line(r));
  return out.join('\n') + '\n';
}

export function columnWidths(headers: string[], rows: string[][]): number[] {
  const w = headers.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < w.length; i++) if (r[i].length > w[i]) w[i] = r[i].length;
  return w;
}

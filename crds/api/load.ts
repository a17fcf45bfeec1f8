// Turns text (multi-document YAML, JSON, or a kind: List) into objects, each labelled with
// where it came from so that errors can name it. Pure: no files, no etcd.
import * as yaml from 'js-yaml';
import { InvalidError } from './errors.js';

export interface SourcedDocument {
  /** e.g. "booking.yaml document 2" */
  where: string;
  object: unknown;
}

/** The largest input kiwictl reads from one file or stdin. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

export function parseDocuments(text: string, source: string): SourcedDocument[] {
  if (Buffer.byteLength(text) > MAX_INPUT_BYTES)
    throw new InvalidError(`${source}: ${(Buffer.byteLength(text) / 1048576).toFixed(1)} MiB is more than the ${MAX_INPUT_BYTES / 1048576} MiB kiwictl reads from one input`);
  let docs: unknown[];
  try {
    // CORE_SCHEMA: no timestamps or other implicit types, so "2026-05-01T14:00:00Z" stays a string
    docs = yaml.loadAll(text, undefined, { filename: source, schema: yaml.CORE_SCHEMA, json: false });
  } catch (e) {
    if (e instanceof yaml.YAMLException) {
      const line = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
      throw new InvalidError(`${source}: malformed YAML${line}: ${e.reason}`);
    }
    // js-yaml recurses once per nesting level: [[[[...]]]] thousands deep overflows the stack
    if (e instanceof RangeError) throw new InvalidError(`${source}: nested too deeply to read`);
    throw e;
  }
  return documentsOf(docs, source);
}

/**
 * The objects of parsed documents (YAML's, or one JSON value), each labelled with where it came
 * from; a `kind: List` gives its items. Refuses what is too large or too deep to be an object.
 */
export function documentsOf(docs: unknown[], source: string): SourcedDocument[] {
  // YAML aliases are shared, not copied, so a few lines ("billion laughs") can stand for a
  // document far larger than any object Kiwi stores: refuse before anything expands it.
  checkExpandedSize(docs, source);
  const out: SourcedDocument[] = [];
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${source} document ${i + 1}` : source;
    if (doc === null || doc === undefined) return; // an empty document between ---
    if (typeof doc === 'object' && !Array.isArray(doc) && (doc as any).kind === 'List' && Array.isArray((doc as any).items)) {
      (doc as any).items.forEach((item: unknown, j: number) => out.push({ where: `${where} item ${j + 1}`, object: item }));
    } else out.push({ where, object: doc });
  });
  if (out.length === 0) throw new InvalidError(`${source}: no objects found`);
  return out;
}

/**
 * What one input may stand for once aliases are expanded: values (strings, numbers, lists,
 * maps) and string bytes in all, and per object (a document, or an item of a List).
 */
export const MAX_EXPANDED_VALUES = 5_000_000;
export const MAX_OBJECT_VALUES = 200_000;
export const MAX_DEPTH = 64;

function checkExpandedSize(docs: unknown[], source: string): void {
  let budget = MAX_EXPANDED_VALUES;
  let objectBudget = MAX_OBJECT_VALUES;
  let bytes = 0;
  const walk = (v: unknown, depth: number): void => {
    if (--budget < 0 || --objectBudget < 0 || bytes > 4 * MAX_INPUT_BYTES)
      throw new InvalidError(`${source}: the document expands (through YAML aliases) to more than any object Kiwi stores; refused`);
    if (depth > MAX_DEPTH) throw new InvalidError(`${source}: nested more than ${MAX_DEPTH} levels deep; refused`);
    if (typeof v === 'string') bytes += v.length;
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v !== null && typeof v === 'object')
      for (const k of Object.keys(v)) {
        bytes += k.length;
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
  };
  for (const d of docs) {
    const items = d !== null && typeof d === 'object' && (d as any).kind === 'List' && Array.isArray((d as any).items) ? ((d as any).items as unknown[]) : [d];
    // a List's items are objects of their own, each with its own allowance
    for (const item of items) {
      objectBudget = MAX_OBJECT_VALUES;
      walk(item, 2);
    }
  }
}

/** "Booking alice/bk-1" for messages, from whatever the document holds. */
export function describeDocument(obj: unknown): string {
  if (obj === null || typeof obj !== 'object') return '';
  const o = obj as any;
  const name = o.metadata?.name;
  if (typeof o.kind !== 'string' || typeof name !== 'string') return '';
  return ` (${o.kind} ${typeof o.metadata?.namespace === 'string' ? o.metadata.namespace + '/' : ''}${name})`;
}

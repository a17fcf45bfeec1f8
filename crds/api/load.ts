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
    throw e;
  }
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

/** "Booking alice/bk-1" for messages, from whatever the document holds. */
export function describeDocument(obj: unknown): string {
  if (obj === null || typeof obj !== 'object') return '';
  const o = obj as any;
  const name = o.metadata?.name;
  if (typeof o.kind !== 'string' || typeof name !== 'string') return '';
  return ` (${o.kind} ${typeof o.metadata?.namespace === 'string' ? o.metadata.namespace + '/' : ''}${name})`;
}

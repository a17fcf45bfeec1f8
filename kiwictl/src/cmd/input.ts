// Reading objects from -f FILE|DIR|- (apply, delete): files are read whole, a directory gives
// its *.yaml, *.yml and *.json files in name order, "-" is stdin. Parsing and validation are
// loaded lazily (js-yaml, ajv) so that verbs without -f never pay for them.
import { readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidError } from '../../../crds/api/errors.js';
import type { KiwiObject } from '../../../crds/api/types.js';
import { kindInfo } from '../../../crds/api/kinds.js';
import { callerNamespace } from '../client/paths.js';
import { usage } from './verb.js';
import { isJsonInput, parseStrictJson } from './json.js';

export interface Source {
  name: string;
  text: string;
}

/**
 * All of stdin, synchronously. readFileSync(0) throws EAGAIN when stdin is a non-blocking pipe,
 * which is what a Node 22+ parent's spawn() hands its child: then wait a little and read on.
 */
export function readStdin(fd = 0): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 5); // no data yet: sleep 5 ms rather than spin
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function readSources(paths: string[], stdin: () => string = () => readStdin()): Source[] {
  const out: Source[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ name: 'stdin', text: stdin() });
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch {
      throw usage(`-f ${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const files = readdirSync(p).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
      if (files.length === 0) throw usage(`-f ${p}: the directory holds no .yaml, .yml or .json files`);
      for (const f of files) out.push({ name: join(p, f), text: readFileSync(join(p, f), 'utf8') });
    } else out.push({ name: p, text: readFileSync(p, 'utf8') });
  }
  return out;
}

/**
 * Parses and validates every document of every source, filling in the caller's defaults first
 * (a Booking's namespace is the caller's user, its spec.user the namespace). Throws one
 * InvalidError listing every problem of every document: all or nothing.
 */
export async function loadObjects(sources: Source[], namespace?: string): Promise<KiwiObject[]> {
  const [{ parseDocuments, describeDocument, documentsOf, MAX_INPUT_BYTES }, { validateObject }] = await Promise.all([
    import('../../../crds/api/load.js'),
    import('../../../crds/api/validate.js'),
  ]);
  const problems: string[] = [];
  const objects: KiwiObject[] = [];
  for (const src of sources) {
    let docs;
    try {
      if (isJsonInput(src.name, src.text)) {
        // JSON is read as JSON, strictly (kubectl does the same): YAML would take a trailing comma.
        if (Buffer.byteLength(src.text) > MAX_INPUT_BYTES) throw new InvalidError(`${src.name}: more than the ${MAX_INPUT_BYTES / 1048576} MiB kiwictl reads from one input`);
        const r = parseStrictJson(src.text);
        if ('problem' in r) throw new InvalidError(`${src.name}: malformed JSON at line ${r.problem.line}, column ${r.problem.column}: ${r.problem.message}`);
        if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value))
          throw new InvalidError(`${src.name}: the JSON is ${Array.isArray(r.value) ? 'an array' : String(r.value)}, not an object; give one object, or {"kind": "List", "items": [...]}`);
        docs = documentsOf([r.value], src.name);
      } else docs = parseDocuments(src.text, src.name);
    } catch (e) {
      if (!(e instanceof InvalidError)) throw e;
      problems.push(...e.problems);
      continue;
    }
    for (const doc of docs) {
      try {
        const where = doc.where + describeDocument(doc.object);
        const obj = validateObject(withDefaults(doc.object, namespace, where), where);
        // Records are the operator's account of a finished booking: nobody else writes them.
        if (obj.kind === 'UsageRecord') problems.push(`${where}: a UsageRecord is written only by the operator when a booking ends; it cannot be applied or deleted`);
        else objects.push(obj);
      } catch (e) {
        if (!(e instanceof InvalidError)) throw e;
        problems.push(...e.problems);
      }
    }
  }
  if (problems.length) {
    const n = problems.length;
    throw new InvalidError(`${n} problem${n > 1 ? 's' : ''} found, nothing was written: ${problems.join('; ')}`, [...problems, `nothing was written (${n} problem${n > 1 ? 's' : ''})`]);
  }
  return objects;
}

/**
 * The caller's defaults for a document, before validation: a Booking's namespace is -n, else the
 * caller's user; its spec.user is its namespace. Leaves anything odd to the validator.
 */
export function withDefaults(doc: unknown, namespace?: string, where = 'document'): unknown {
  const o = doc as any;
  if (o === null || typeof o !== 'object' || o.kind !== 'Booking' || o.metadata === null || typeof o.metadata !== 'object') return doc;
  if (!kindInfo('Booking').namespaced) return doc;
  if (namespace && o.metadata.namespace !== undefined && o.metadata.namespace !== namespace)
    throw new InvalidError(`${where}: metadata.namespace is "${o.metadata.namespace}" but -n says "${namespace}"; drop one of them`);
  const out = { ...o, metadata: { ...o.metadata } };
  out.metadata.namespace ??= namespace ?? callerNamespace();
  if (out.spec !== null && typeof out.spec === 'object' && !Array.isArray(out.spec) && out.spec.user === undefined)
    out.spec = { ...out.spec, user: out.metadata.namespace };
  return out;
}

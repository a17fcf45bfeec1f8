// `describe` text: metadata, spec, status, conditions and events, for humans (kubectl's layout).
import type { KiwiEvent } from '../../../crds/api/types.js';
import { age } from './format.js';
import { renderTable } from './table.js';

const LABEL_WIDTH = 20;
const field = (label: string, value: string) => `${(label + ':').padEnd(LABEL_WIDTH)}${value}\n`;
const none = '<none>';

function mapLines(m: Record<string, string> | undefined, indent: number): string {
  const entries = Object.entries(m ?? {});
  if (!entries.length) return none;
  return entries.map(([k, v], i) => (i ? ' '.repeat(indent) : '') + `${k}=${v}`).join('\n');
}

/** Renders any JSON value as indented "Key: value" lines, kubectl describe style. */
export function nested(v: unknown, indent = 2): string {
  const pad = ' '.repeat(indent);
  if (v === null || typeof v !== 'object') return `${pad}${String(v)}\n`;
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) return `${pad}${v.join(', ')}\n`;
    return v.map((x) => `${pad}-\n${nested(x, indent + 2)}`).join('');
  }
  let out = '';
  for (const [k, val] of Object.entries(v)) {
    const key = k.charAt(0).toUpperCase() + k.slice(1);
    if (val !== null && typeof val === 'object' && !(Array.isArray(val) && val.every((x) => x === null || typeof x !== 'object'))) {
      out += `${pad}${key}:\n${nested(val, indent + 2)}`;
    } else out += `${pad}${key}:${' '.repeat(Math.max(1, LABEL_WIDTH - indent - key.length - 1))}${Array.isArray(val) ? val.join(', ') : String(val)}\n`;
  }
  return out;
}

/** `extra`: what a kind adds after its status (a pool's nodes and holders). */
export function describeObject(obj: any, events: KiwiEvent[], now = new Date(), extra = ''): string {
  const m = obj.metadata ?? {};
  let out = field('Name', m.name);
  if (m.namespace) out += field('Namespace', m.namespace);
  out += field('Kind', `${obj.kind} (${obj.apiVersion})`);
  out += field('Labels', mapLines(m.labels, LABEL_WIDTH));
  out += field('Annotations', mapLines(m.annotations, LABEL_WIDTH));
  out += field('UID', m.uid ?? none);
  out += field('Resource Version', String(m.resourceVersion ?? none));
  out += field('Generation', String(m.generation ?? none));
  out += field('Created', m.creationTimestamp ? `${m.creationTimestamp} (${age(m.creationTimestamp, now)} ago)` : none);
  out += 'Spec:\n' + (obj.spec && Object.keys(obj.spec).length ? nested(obj.spec) : `  ${none}\n`);
  const { conditions, ...status } = obj.status ?? {};
  const noStatus = obj.kind === 'UsageRecord' ? '  <none: a usage record never changes>\n' : '  <none yet: the operator has not seen it>\n';
  out += 'Status:\n' + (Object.keys(status).length ? nested(status) : noStatus);
  out += extra;
  out += 'Conditions:\n';
  if (conditions?.length) {
    const rows = conditions.map((c: any) => [c.type, c.status, c.reason ?? '', c.lastTransitionTime ? `${age(c.lastTransitionTime, now)} ago` : '', c.message ?? '']);
    out += indent(renderTable(['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'], rows));
  } else out += `  ${none}\n`;
  out += 'Events:\n';
  if (events.length) {
    const rows = events.map((e) => [`${age(e.time, now)} ago`, e.type, e.reason, e.source, e.message]);
    out += indent(renderTable(['AGE', 'TYPE', 'REASON', 'FROM', 'MESSAGE'], rows));
  } else out += `  ${none}\n`;
  return out;
}

const indent = (s: string) => s.replace(/^(?=.)/gm, '  ');

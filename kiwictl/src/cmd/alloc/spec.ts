// Pure: turning alloc's (and run's) flags into a Booking. Names, durations, times and the
// node selector are checked here, so that a bad flag is refused before anything is read or written.
import type { Booking, BookingSpec } from '../../../../crds/api/types.js';
import { parseDuration } from '../../../../crds/api/duration.js';
import { parseTime, localZone } from '../../../../crds/api/time.js';
import { isLabelKey, isLabelValue } from '../../../../crds/api/selector.js';
import { API_VERSION } from '../../../../crds/api/types.js';
import { usage } from '../verb.js';

export interface AllocFlags {
  user?: string;
  nodelist?: string;
  count?: string;
  selector?: string;
  time?: string;
  start?: string;
  end?: string;
  queue?: boolean;
  wait?: boolean;
  timeout?: string;
  name?: string;
  userCheck?: boolean;
  output?: string;
  idleRelease?: boolean;
  onNodeFailure?: string;
  pool?: string;
  account?: string;
}

export interface AllocRequest {
  user?: string;
  nodes?: string[];
  count?: number;
  selector?: Record<string, string>;
  duration?: number;
  start?: number;
  end?: number;
  queue: boolean;
  name?: string;
  /** spec.idleRelease; undefined: the cluster's default. */
  idleRelease?: boolean;
  onNodeFailure?: 'Wait' | 'End';
  pool?: string;
  account?: string;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** "gpu=a100,rack=3" -> {gpu: a100, rack: "3"}: a booking's nodeSelector is equality only. */
export function parseEqualitySelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=!\s]+)==?([^=!\s]*)$/.exec(part);
    if (!m) throw usage(`-l ${text}: "${part}" is not KEY=VALUE; a booking's node selector takes only equality (gpu=a100,rack=3)`);
    if (!isLabelKey(m[1])) throw usage(`-l ${text}: "${m[1]}" is not a label key`);
    if (!isLabelValue(m[2])) throw usage(`-l ${text}: "${m[2]}" is not a label value`);
    out[m[1]] = m[2];
  }
  if (!Object.keys(out).length) throw usage(`-l ${JSON.stringify(text)}: give at least one KEY=VALUE`);
  return out;
}

/** Reads and checks the flags; `now` and `zone` read --start/--end ("14:00", "tomorrow 09:00"). */
export function allocRequest(f: AllocFlags, now: number, zone: string = localZone()): AllocRequest {
  const r: AllocRequest = { queue: f.queue !== false };
  if (f.user !== undefined) {
    if (!/^[a-z_][a-z0-9_.-]*[$]?$/.test(f.user) || f.user.length > 32) throw usage(`-u ${f.user}: not a user name`);
    r.user = f.user;
  }
  if (f.nodelist !== undefined) {
    const nodes = f.nodelist.split(',').map((n) => n.trim()).filter(Boolean);
    if (!nodes.length) throw usage('-w: give node names, e.g. -w n01,n02');
    for (const n of nodes) if (!NAME.test(n)) throw usage(`-w ${f.nodelist}: "${n}" is not a node name`);
    if (new Set(nodes).size !== nodes.length) throw usage(`-w ${f.nodelist}: names a node twice`);
    r.nodes = nodes;
  }
  if (f.count !== undefined) {
    const n = Number(f.count);
    if (!/^\d+$/.test(f.count.trim()) || n < 1 || n > 1000) throw usage(`--count ${f.count}: give a whole number of nodes from 1 to 1000`);
    r.count = n;
  }
  if (f.selector !== undefined) r.selector = parseEqualitySelector(f.selector);
  if (r.nodes && (r.count !== undefined || r.selector)) throw usage('give nodes (-w) or --count/-l, not both');
  if (!r.nodes && r.count === undefined) {
    if (r.selector) r.count = 1;
    else throw usage('say which nodes: -w NODE[,NODE...], or --count N [-l KEY=VALUE]');
  }
  if (f.time !== undefined) r.duration = parseDuration(f.time);
  if (f.start !== undefined) r.start = parseTime(f.start, now, zone);
  if (f.end !== undefined) {
    if (f.time !== undefined) throw usage('give -t DURATION or --end TIME, not both');
    r.end = parseTime(f.end, now, zone);
    if (r.end <= (r.start ?? now)) throw usage(`--end ${f.end}: ${new Date(r.end).toISOString()} is not after the start`);
  }
  if (r.start !== undefined && r.start < now - 5000) throw usage(`--start ${f.start}: ${new Date(r.start).toISOString()} is in the past`);
  if (f.pool !== undefined) {
    if (!NAME.test(f.pool) || f.pool.length > 253) throw usage(`--pool ${f.pool}: not a pool name (kiwictl get pools lists them)`);
    r.pool = f.pool;
  }
  if (f.account !== undefined) {
    if (!NAME.test(f.account) || f.account.length > 253) throw usage(`--account ${f.account}: not an account name (lower-case letters, digits, "-" and "."; kiwictl get accounts lists them)`);
    r.account = f.account;
  }
  if (f.name !== undefined) {
    if (!NAME.test(f.name) || f.name.length > 63) throw usage(`--name ${f.name}: use lower-case letters, digits, "-" and "." (at most 63)`);
    r.name = f.name;
  }
  if (f.idleRelease !== undefined) r.idleRelease = f.idleRelease;
  if (f.onNodeFailure !== undefined) {
    const v = f.onNodeFailure.charAt(0).toUpperCase() + f.onNodeFailure.slice(1).toLowerCase();
    if (v !== 'Wait' && v !== 'End') throw usage(`--on-node-failure ${f.onNodeFailure}: give wait (keep the slot until the node is back) or end`);
    if (!r.nodes) throw usage('--on-node-failure is for named nodes (-w); with --count a failed node is replaced by a free matching one');
    r.onNodeFailure = v;
  }
  return r;
}

const iso = (t: number) => new Date(t).toISOString().replace(/\.000Z$/, 'Z');

export function bookingFor(r: AllocRequest, user: string, name: string): Booking {
  const spec: BookingSpec = { user };
  if (r.nodes) spec.nodes = r.nodes;
  else {
    spec.count = r.count;
    if (r.selector) spec.nodeSelector = r.selector;
  }
  if (r.duration !== undefined) spec.duration = r.duration;
  if (r.start !== undefined) spec.start = iso(r.start);
  if (r.end !== undefined) spec.end = iso(r.end);
  if (!r.queue) spec.queue = false;
  if (r.idleRelease !== undefined) spec.idleRelease = r.idleRelease;
  if (r.onNodeFailure) spec.onNodeFailure = r.onNodeFailure;
  if (r.pool !== undefined) spec.pool = r.pool;
  if (r.account !== undefined) spec.account = r.account;
  return { apiVersion: API_VERSION, kind: 'Booking', metadata: { name, namespace: user }, spec };
}

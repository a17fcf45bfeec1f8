// Helpers for the operator's integration and end-to-end tests: build and run the real
// bin/kiwi-operator, read calendars' whole history, make objects.
import { waitFor } from '../../helpers/wait.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt } from '../../helpers/build.js';
import type { Etcd3 } from 'etcd3';
import type { Booking, BookingSpec, Calendar, Node, NodeSpec } from '../../../crds/api/index.js';
import { keys } from '../../../crds/api/index.js';
import { stopProc } from '../../helpers/etcd.js';
import { findOverlap } from '../../../operator/src/plan/index.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** Builds dist/ (the real bin/kiwi-operator) when the sources are newer; see test/helpers/build.ts. */
export async function buildOperator(): Promise<void> {
  ensureBuilt();
}

export interface OperatorProc {
  proc: ChildProcess;
  id: string;
  logs: any[];
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** Starts the real operator process (bin/kiwi-operator) against one etcd; `root` runs another
 *  checkout's build instead (bench/before-after.ts runs an older commit's side by side). */
export function startOperator(endpoint: string, opts: { id: string; leaseTtl?: number; logLevel?: string; args?: string[]; env?: Record<string, string>; root?: string }): OperatorProc {
  // KIWI_OPERATOR_NODE_ARGS: node flags for the operator alone, to profile a bench (e.g. --heap-prof --heap-prof-dir /tmp/p).
  const nodeArgs = process.env.KIWI_OPERATOR_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const proc = spawn(process.execPath, [...nodeArgs, join(opts.root ?? ROOT, 'bin/kiwi-operator'), '--endpoints', endpoint, '--id', opts.id, '--lease-ttl', String(opts.leaseTtl ?? 1), '--log-level', opts.logLevel ?? 'info', '--metrics-addr', 'none', ...(opts.args ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  const logs: any[] = [];
  let buf = '';
  proc.stderr!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  return { proc, id: opts.id, logs, stop: () => stopProc(proc, 'SIGTERM'), kill: () => stopProc(proc, 'SIGKILL') };
}

export const mkNode = (name: string, spec: NodeSpec = {}, labels?: Record<string, string>): Node => ({
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Node', metadata: { name, ...(labels ? { labels } : {}) }, spec,
});

export const mkBooking = (ns: string, name: string, spec: Partial<BookingSpec>): Booking => ({
  apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: ns }, spec: { user: ns, queue: true, ...spec } as BookingSpec,
});

/** Every value every calendar ever had (a watch from revision 1), checked for overlaps. */
export async function calendarHistory(client: Etcd3): Promise<{ values: number; overlaps: string[] }> {
  // Retried: after a member loss, a raw client's first call may still go to the dead member.
  const cur = await waitFor(() => client.getAll().prefix(keys.calendarPrefix()).exec(), { what: 'the calendars' });
  const expected = cur.kvs.reduce((s, kv) => s + Number(kv.version), 0);
  const overlaps: string[] = [];
  let seen = 0;
  const w = await client.watch().prefix(keys.calendarPrefix()).startRevision('1').create();
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`calendar history: saw ${seen} of ${expected} values`)), 20_000);
      const check = () => {
        if (seen >= expected) {
          clearTimeout(t);
          resolve();
        }
      };
      w.on('put', (kv) => {
        seen++;
        const c = JSON.parse(kv.value.toString()) as Calendar;
        const o = findOverlap(c.entries);
        if (o) overlaps.push(`${kv.key.toString()}@${kv.mod_revision}: ${o[0].booking} and ${o[1].booking}`);
        for (let i = 1; i < c.entries.length; i++) if (c.entries[i].start < c.entries[i - 1].start) overlaps.push(`${kv.key.toString()}@${kv.mod_revision}: not sorted`);
        check();
      });
      check();
    });
  } finally {
    await w.cancel();
  }
  return { values: seen, overlaps };
}

/**
 * The fence, seen in etcd: events of writers that wrote before `takeoverRev` (each process
 * suffixes its event keys with its own random tag) and those of them that landed after it.
 */
export async function writesAcrossTakeover(client: Etcd3, takeoverRev: number): Promise<{ oldWriters: number; lateWrites: { tag: string; rev: number }[] }> {
  const evs = (await client.getAll().prefix('/kiwi/events/').exec()).kvs.map((kv) => ({ tag: kv.key.toString().slice(-6), rev: Number(kv.mod_revision) }));
  const oldTags = new Set(evs.filter((e) => e.rev < takeoverRev).map((e) => e.tag));
  return { oldWriters: oldTags.size, lateWrites: evs.filter((e) => oldTags.has(e.tag) && e.rev > takeoverRev) };
}

// Which of many nodes is free earliest for a duration: asked once for every waiting booking that
// may go on any of them (count 1). Scanning every node for every booking made a pass cost
// bookings x nodes; this keeps a min-heap of each node's earliest start instead. Placing a
// booking only ever adds entries, and an added entry can only move a node's earliest start
// later, so a key computed before is a lower bound: a node whose calendar grew since its key
// was computed is re-checked when it comes to the top, and pushed back with its new start.
import TinyQueue from 'tinyqueue';
import { earliestOnNode, type SlotNode } from './calendar.js';

interface Key {
  start: number;
  /** Position in the given order: among nodes free equally early, the first in it wins. */
  rank: number;
  /** The node's calendar version the start was computed at. */
  version: number;
}

export class EarliestFree {
  private readonly heap: TinyQueue<Key>;
  private readonly byName: Map<string, SlotNode>;

  /**
   * `nodes` in the order that breaks ties; `version(name)` changes whenever that node's calendar
   * gains an entry (the planner counts its insertions).
   */
  constructor(
    private readonly nodes: SlotNode[],
    private readonly notBefore: number,
    private readonly dur: number,
    private readonly version: (name: string) => number,
  ) {
    const keys: Key[] = [];
    nodes.forEach((n, rank) => {
      const start = earliestOnNode(n, notBefore, dur);
      if (start !== undefined) keys.push({ start, rank, version: version(n.name) });
    });
    this.heap = new TinyQueue(keys, (a, b) => a.start - b.start || a.rank - b.rank);
    this.byName = new Map(nodes.map((n) => [n.name, n]));
  }

  /**
   * The node free earliest, and when; among equals the first of `prefer` (in its order; names
   * not among the nodes are ignored), else the first in the given order. Undefined when no node
   * can hold the duration.
   */
  best(prefer: string[] = []): { start: number; node: string } | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return undefined;
      const n = this.nodes[top.rank];
      if (top.version === this.version(n.name)) {
        for (const p of prefer) {
          const pn = this.byName.get(p);
          if (pn && earliestOnNode(pn, this.notBefore, this.dur) === top.start) return { start: top.start, node: p };
        }
        return { start: top.start, node: n.name };
      }
      this.heap.pop();
      const start = earliestOnNode(n, this.notBefore, this.dur);
      if (start !== undefined) this.heap.push({ start, rank: top.rank, version: this.version(n.name) });
    }
  }
}

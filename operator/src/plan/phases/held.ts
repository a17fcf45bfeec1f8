// Phase "held": what each live booking holds now, read from the calendars; entries whose
// booking is gone (or was re-created under a new uid) are orphans, to be removed.
import type { CalendarEntry } from '../../../../crds/api/pure.js';
import type { PassState } from '../pass.js';

export function* held(s: PassState): Generator<void, void, void> {
  for (const [node, cal] of s.input.calendars) {
    for (const e of cal.entries) {
      const b = s.byKey.get(e.booking);
      if (!b) {
        const list = s.orphans.get(e.booking) ?? [];
        let o = list.find((x) => x.uid === e.uid);
        if (!o) list.push((o = { uid: e.uid, nodes: new Set() }));
        o.nodes.add(node);
        s.orphans.set(e.booking, list);
        continue;
      }
      if (b.booking.metadata.uid !== e.uid) {
        const st = s.staleKeys.get(b.key) ?? new Set<string>();
        st.add(node);
        s.staleKeys.set(b.key, st);
        continue;
      }
      const m = s.held.get(b.key) ?? new Map<string, CalendarEntry[]>();
      m.set(node, [...(m.get(node) ?? []), e]);
      s.held.set(b.key, m);
    }
  }
}

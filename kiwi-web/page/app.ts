/// <reference lib="dom" />
// The calendar page: nodes down, time across. A small hand-made DOM view (no framework): the
// pure rules are in layout.ts and colors.ts; this file draws them and keeps them live from the
// watches of the HTTP API (Server-Sent Events: nodes, bookings, pools). A change touches only the bars of the booking
// (or the row of the node) that changed: the world is never redrawn for one event.
// Everything from etcd is shown with textContent, never as HTML.
import type { Booking, Node, Pool } from '../../crds/api/types.js';
import { barsOf, describe, nodeState, selectionToSpec, snap, spanOf, ticks, viewStart, visibleNodes, poolChoices, HOUR, DAY, type Bar, type Filter, type View } from './layout.js';
import { userColor } from './colors.js';
import { openIntervals } from '../../crds/api/windows.js';
import { planExtend } from '../../crds/api/extend.js';

const API = '/apis/kiwi.dev/v1alpha1';
const LABEL_W = 150;
const ROW_H = 26;
const AXIS_H = 28;
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

interface SessionInfo { user?: string; csrf?: string; loginMode: 'etcd' | 'dev'; note: string; defaultDuration: number }

const state = {
  nodes: new Map<string, Node>(),
  bookings: new Map<string, Booking>(),
  pools: new Map<string, Pool>(),
  session: undefined as SessionInfo | undefined,
  view: 'week' as View,
  from: 0,
  /** pixels per hour */
  zoom: 0,
  filter: { label: '', pool: '', user: '' } as Filter,
  rows: [] as string[],
  rowIndex: new Map<string, number>(),
  bars: new Map<string, HTMLElement[]>(),
  synced: { Node: false, Booking: false, Pool: false },
  selected: undefined as string | undefined,
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
// One formatter: making one per call cost most of a 1,000-node first render.
const timeFormat = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const fmtTime = (t: number) => timeFormat.format(t);
const span = () => spanOf(state.view);
const pxPerMs = () => state.zoom / HOUR;
const xOf = (t: number) => (t - state.from) * pxPerMs();
const tOf = (x: number) => state.from + x / pxPerMs();

// ---- drawing -------------------------------------------------------------------------------

/** The scale that fits the view's span into the calendar's width without the booking panel: so
 * opening or closing the panel never rescales the bars under the pointer (it only narrows what
 * is in view; see keepInView). */
function defaultZoom(): number {
  const w = Math.max(600, $('work').clientWidth - LABEL_W - 20);
  return w / (span() / HOUR);
}

/** Everything: used at start, and when the view, zoom or filter changes. */
function drawAll(): void {
  if (!state.session) return; // who "mine" is comes with the session
  const t0 = performance.now();
  const usersOn = new Map<string, Set<string>>();
  for (const b of state.bookings.values()) for (const bar of barsOf(b, Date.now())) {
    let s = usersOn.get(bar.node);
    if (!s) usersOn.set(bar.node, (s = new Set()));
    s.add(bar.user);
  }
  const nodes = visibleNodes([...state.nodes.values()], state.filter, (n) => usersOn.get(n) ?? new Set(), [...state.pools.values()]);
  state.rows = nodes.map((n) => n.metadata.name!);
  state.rowIndex = new Map(state.rows.map((n, i) => [n, i]));
  const width = span() * pxPerMs();
  const lanes = $('lanes');
  lanes.style.width = `${width}px`;
  lanes.style.height = `${state.rows.length * ROW_H}px`;
  $('labels').style.height = `${state.rows.length * ROW_H}px`;
  drawAxis(width);
  const frag = document.createDocumentFragment();
  const labels = document.createDocumentFragment();
  nodes.forEach((n, i) => {
    labels.appendChild(labelOf(n, i));
    frag.appendChild(laneOf(n, i, width));
  });
  $('labels').replaceChildren(labels);
  const barLayer = el('div');
  barLayer.id = 'bars';
  state.bars.clear();
  lanes.replaceChildren(frag, barLayer, $('sel'), $('now'));
  for (const b of state.bookings.values()) drawBooking(b, barLayer);
  drawNow();
  $('count').textContent = `${state.rows.length} of ${state.nodes.size} nodes`;
  document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
  document.body.dataset.pxPerHour = String(state.zoom); // for tests and tools: the scale drawn
  document.body.dataset.from = String(state.from); // and the instant at the grid's left edge
  const title = state.view === 'week' ? `week of ${new Intl.DateTimeFormat('en-GB', { timeZone: zone, day: 'numeric', month: 'short', year: 'numeric' }).format(state.from)}` : new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'long', day: 'numeric', month: 'short', year: 'numeric' }).format(state.from);
  $('range').textContent = title;
}

function drawAxis(width: number): void {
  const axis = $('axis');
  axis.style.width = `${width}px`;
  const f = document.createDocumentFragment();
  for (const tk of ticks(state.from, state.from + span(), state.view, zone, pxPerMs())) {
    const d = el('div', tk.major ? 'tick major' : 'tick', tk.label);
    d.style.left = `${xOf(tk.t)}px`;
    f.appendChild(d);
  }
  axis.replaceChildren(f);
}

const STATE_TEXT = { ready: '', notready: 'not ready', cordoned: 'cordoned', draining: 'draining', drained: 'drained', off: 'off', waking: 'waking up' } as const;

function labelOf(n: Node, i: number): HTMLElement {
  const s = nodeState(n);
  const d = el('div', `label ${s}`);
  d.style.top = `${i * ROW_H}px`;
  d.dataset.node = n.metadata.name!;
  d.appendChild(el('span', 'name', n.metadata.name!));
  if (STATE_TEXT[s]) d.appendChild(el('span', 'badge', STATE_TEXT[s]));
  const labels = Object.entries(n.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
  d.title = `${n.metadata.name}${n.status?.phase ? ` (${n.status.phase})` : ''}${labels ? `\nlabels: ${labels}` : ''}${n.status?.message ? `\n${n.status.message}` : ''}`;
  return d;
}

function laneOf(n: Node, i: number, width: number): HTMLElement {
  const s = nodeState(n);
  const d = el('div', `lane ${s}`);
  d.style.top = `${i * ROW_H}px`;
  d.style.width = `${width}px`;
  d.dataset.node = n.metadata.name!;
  for (const [a, b] of openIntervals(n.spec?.reservableWindows, state.from, state.from + span())) {
    const w = el('div', 'window');
    w.style.left = `${xOf(a)}px`;
    w.style.width = `${(b - a) * pxPerMs()}px`;
    w.title = 'reservable window';
    d.appendChild(w);
  }
  if (n.spec?.reservableWindows?.length) d.classList.add('windowed');
  return d;
}

/** (Re)draws one booking's bars: removes the old ones, adds the new. */
function drawBooking(b: Booking, layer: HTMLElement = $('bars')): void {
  const key = `${b.metadata.namespace}/${b.metadata.name}`;
  for (const e of state.bars.get(key) ?? []) e.remove();
  state.bars.delete(key);
  if (state.filter.user && b.metadata.namespace !== state.filter.user.trim()) return;
  const from = state.from;
  const to = from + span();
  const els: HTMLElement[] = [];
  for (const bar of barsOf(b, Date.now())) {
    const row = state.rowIndex.get(bar.node);
    if (row === undefined || bar.end <= from || bar.start >= to) continue;
    els.push(barEl(bar, row, b));
  }
  for (const e of els) layer.appendChild(e);
  if (els.length) state.bars.set(key, els);
}

function barEl(bar: Bar, row: number, b: Booking): HTMLElement {
  const mine = state.session?.user === bar.user;
  const d = el('div', `bar ${bar.kind}${bar.fixed ? ' fixed' : ''}${mine ? ' mine' : ''}${state.selected === bar.key ? ' selected' : ''}`);
  const x0 = Math.max(0, xOf(bar.start));
  const x1 = Math.min(span() * pxPerMs(), xOf(bar.end));
  d.style.left = `${x0}px`;
  d.style.width = `${Math.max(3, x1 - x0)}px`;
  d.style.top = `${row * ROW_H + 3}px`;
  d.style.setProperty('--c', userColor(bar.user));
  d.dataset.key = bar.key;
  d.dataset.node = bar.node;
  d.dataset.user = bar.user;
  d.dataset.phase = b.status?.phase ?? '';
  d.tabIndex = 0;
  d.setAttribute('role', 'button');
  const what = bar.kind === 'planned' ? 'planned' : bar.kind === 'expired' ? 'ended' : '';
  d.textContent = `${mine ? '★ ' : ''}${bar.user}${what ? ` · ${what}` : ''}${bar.fixed ? ' · reserved' : ''}`;
  if (mine && bar.kind !== 'expired' && !b.spec.cancelled) {
    // drag the right edge of one's own booking to make it longer or shorter
    const grip = el('span', 'grip');
    grip.title = 'drag to extend or shorten';
    d.appendChild(grip);
  }
  d.setAttribute('aria-label', describe(b, Date.now(), fmtTime).join('. '));
  return d;
}

function drawNow(): void {
  const now = Date.now();
  const line = $('now');
  const inView = now >= state.from && now < state.from + span();
  line.hidden = !inView;
  line.style.left = `${xOf(now)}px`;
  line.style.height = `${state.rows.length * ROW_H}px`;
}

// ---- live data -----------------------------------------------------------------------------

type Watched = Node | Booking | Pool;
const WATCHES = { Node: 'nodes', Booking: 'bookings', Pool: 'pools' } as const;

function watch(kind: keyof typeof WATCHES): void {
  const es = new EventSource(`${API}/${WATCHES[kind]}?watch=true`);
  const fresh = new Map<string, Watched>();
  let initial = true;
  es.onmessage = (m) => {
    const ev = JSON.parse(m.data) as { type: string; object: Watched };
    if (ev.type === 'BOOKMARK') {
      // (Re)connected: the initial events are the whole state; replace what we had.
      initial = false;
      const map = (kind === 'Node' ? state.nodes : kind === 'Booking' ? state.bookings : state.pools) as Map<string, Watched>;
      map.clear();
      for (const [k, v] of fresh) map.set(k, v);
      fresh.clear();
      state.synced[kind] = true;
      if (kind === 'Pool') return poolsChanged();
      if (state.synced.Node && state.synced.Booking) {
        drawAll();
        document.body.dataset.live = 'true';
      }
      return;
    }
    const o = ev.object;
    const key = o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
    if (initial) {
      fresh.set(key, o);
      return;
    }
    apply(kind, ev.type, key, o);
  };
  es.onerror = () => {
    initial = true;
    fresh.clear();
    document.body.dataset.live = 'false';
  };
}

function apply(kind: keyof typeof WATCHES, type: string, key: string, o: Watched): void {
  if (kind === 'Pool') {
    if (type === 'DELETED') state.pools.delete(key);
    else state.pools.set(key, o as Pool);
    return poolsChanged();
  }
  if (kind === 'Booking') {
    const b = o as Booking;
    if (type === 'DELETED') state.bookings.delete(key);
    else state.bookings.set(key, b);
    if (!state.synced.Node) return;
    if (state.filter.user) return drawAll(); // the set of rows may change
    if (type === 'DELETED') {
      for (const e of state.bars.get(key) ?? []) e.remove();
      state.bars.delete(key);
    } else drawBooking(b);
    if (state.selected === key) showBooking(key);
    if (pendingKey === key) followCreated(b);
    document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
    return;
  }
  const n = o as Node;
  const had = state.nodes.has(key);
  if (type === 'DELETED') state.nodes.delete(key);
  else state.nodes.set(key, n);
  const row = state.rowIndex.get(key);
  if (type === 'DELETED' || !had || row === undefined) return drawAll();
  // A node changed in place: redraw its label and lane, nothing else.
  const width = span() * pxPerMs();
  $('labels').querySelector(`[data-node="${CSS.escape(key)}"]`)?.replaceWith(labelOf(n, row));
  $('lanes').querySelector(`.lane[data-node="${CSS.escape(key)}"]`)?.replaceWith(laneOf(n, row, width));
}

// ---- session -------------------------------------------------------------------------------

async function loadSession(): Promise<void> {
  state.session = await (await fetch('/web/session')).json();
  const s = state.session!;
  const box = $('login');
  box.replaceChildren();
  $('note').textContent = s.note;
  $('note').className = s.loginMode === 'dev' ? 'note dev' : 'note';
  document.body.dataset.user = s.user ?? '';
  if (s.user) {
    box.appendChild(el('span', 'who', `${s.user}${s.loginMode === 'dev' ? ' (dev login)' : ''}`));
    const out = el('button', '', 'Log out');
    out.type = 'button';
    out.onclick = async () => {
      await fetch('/web/logout', { method: 'POST', headers: { 'x-csrf-token': s.csrf ?? '' } });
      await loadSession();
      drawAll();
    };
    box.appendChild(out);
    $('new').hidden = false;
  } else {
    const form = el('form');
    form.id = 'login-form';
    const u = el('input');
    u.name = 'user';
    u.placeholder = 'user';
    u.autocomplete = 'username';
    u.setAttribute('aria-label', 'user');
    form.appendChild(u);
    if (s.loginMode === 'etcd') {
      const p = el('input');
      p.type = 'password';
      p.name = 'password';
      p.placeholder = 'etcd password';
      p.autocomplete = 'current-password';
      p.setAttribute('aria-label', 'password');
      form.appendChild(p);
    }
    const go = el('button', '', s.loginMode === 'dev' ? 'Log in by name (dev)' : 'Log in');
    go.type = 'submit';
    form.appendChild(go);
    const err = el('span', 'error');
    err.id = 'login-error';
    err.setAttribute('role', 'alert');
    form.appendChild(err);
    form.onsubmit = async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      const r = await fetch('/web/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: fd.get('user'), password: fd.get('password') ?? undefined }) });
      if (!r.ok) {
        err.textContent = (await r.json()).message;
        return;
      }
      await loadSession();
      drawAll();
    };
    box.appendChild(form);
    $('new').hidden = true;
  }
}

async function call(method: string, path: string, body?: unknown): Promise<{ ok: boolean; data: any }> {
  const r = await fetch(path, {
    method,
    headers: { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json', 'x-csrf-token': state.session?.csrf ?? '' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { ok: r.ok, data: await r.json() };
}

// ---- booking from the page -----------------------------------------------------------------

let pendingKey: string | undefined;

function panel(title: string): HTMLElement {
  const p = $('panel');
  p.hidden = false;
  const body = el('div');
  const h = el('h2', '', title);
  const close = el('button', 'close', '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'close');
  close.onclick = closePanel;
  p.replaceChildren(close, h, body);
  return body;
}

/**
 * After the panel opened (and narrowed the calendar): scroll what it is about back into view, but
 * only if too little of it is left in view (a long bar that still shows stays under the pointer).
 */
function keepInView(e: HTMLElement): void {
  const cal = $('cal');
  const c = cal.getBoundingClientRect();
  const r = e.getBoundingClientRect();
  const left = c.left + LABEL_W; // the sticky labels and axis cover the grid's start
  const top = c.top + AXIS_H;
  const w = Math.min(r.right, c.left + cal.clientWidth) - Math.max(r.left, left);
  const h = Math.min(r.bottom, c.top + cal.clientHeight) - Math.max(r.top, top);
  if (w >= Math.min(24, r.width) && h >= Math.min(ROW_H / 2, r.height)) return;
  e.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

function closePanel(): void {
  $('panel').hidden = true;
  $('sel').hidden = true;
  if (state.selected) {
    for (const e of state.bars.get(state.selected) ?? []) e.classList.remove('selected');
    state.selected = undefined;
  }
}

function field(label: string, input: HTMLElement): HTMLElement {
  const l = el('label', 'field');
  l.appendChild(el('span', '', label));
  l.appendChild(input);
  return l;
}

const localInput = (t: number) => {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

/** The booking form: from a drag (nodes and times filled in) or from the "New booking" button. */
function bookingForm(nodes: string[], a: number, b: number): void {
  if (!state.session?.user) {
    const body = panel('Log in to book');
    body.appendChild(el('p', '', 'Log in (top right) to book nodes; the calendar is read-only until then.'));
    return;
  }
  const body = panel('New booking');
  const nodeSel = el('select');
  nodeSel.multiple = true;
  nodeSel.id = 'f-nodes';
  nodeSel.size = Math.min(6, Math.max(2, state.rows.length));
  for (const n of state.rows) {
    const o = el('option', '', n);
    o.value = n;
    o.selected = nodes.includes(n);
    nodeSel.appendChild(o);
  }
  const start = el('input');
  start.type = 'datetime-local';
  start.id = 'f-start';
  start.value = localInput(Math.min(a, b));
  const dur = el('input');
  dur.id = 'f-duration';
  dur.value = `${Math.max(1, Math.round((Math.max(a, b) - Math.max(Math.min(a, b), Date.now())) / 60_000))}m`;
  const asap = el('input');
  asap.type = 'checkbox';
  asap.id = 'f-asap';
  asap.checked = Math.min(a, b) <= Date.now() + 60_000;
  const out = el('p', 'preview');
  out.id = 'preview';
  out.setAttribute('role', 'status');
  out.setAttribute('aria-live', 'polite');
  const confirm = el('button', 'primary', 'Confirm booking');
  confirm.type = 'button';
  confirm.id = 'confirm';
  confirm.disabled = true;
  body.append(field('Nodes', nodeSel), field('As soon as possible', asap), field('Start', start), field('Duration (90m, 2h30m)', dur), out, confirm);
  const spec = (): Record<string, unknown> => {
    const ns = [...nodeSel.selectedOptions].map((o) => o.value);
    const s: Record<string, unknown> = { nodes: ns, duration: dur.value.trim() };
    if (!asap.checked && start.value) s.start = new Date(start.value).toISOString().replace(/\.\d+Z$/, 'Z');
    return s;
  };
  const obj = () => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { namespace: state.session!.user }, spec: { user: state.session!.user, ...spec() } });
  let seq = 0;
  const preview = async () => {
    const mine = ++seq;
    out.textContent = 'checking…';
    out.className = 'preview';
    confirm.disabled = true;
    const r = await call('POST', `${API}/namespaces/${encodeURIComponent(state.session!.user!)}/bookings?dryRun=All`, obj());
    if (mine !== seq) return;
    // The leading operator's own answer (its planner); a forecast only when none answered in time.
    const forecast = r.ok ? r.data.metadata?.annotations?.['kiwi.dev/dry-run-source'] === 'forecast' : /\(a forecast from the planned slots: /.test(r.data.message ?? '');
    out.dataset.source = forecast ? 'forecast' : 'operator';
    if (r.ok) {
      const st = r.data.status ?? {};
      const when = st.startTime ? `Planned start: ${fmtTime(Date.parse(st.startTime))}${st.endTime ? `, until ${fmtTime(Date.parse(st.endTime))}` : ''}.` : 'Not planned yet.';
      out.textContent = `${forecast ? 'Forecast (no operator answered): ' : 'The operator plans: '}${when} ${st.message ?? ''}`;
      out.className = 'preview ok';
      confirm.disabled = false;
    } else {
      out.textContent = `Refused${forecast ? ' (forecast)' : ' by the operator'}: ${r.data.message}`;
      out.className = 'preview refused';
    }
  };
  for (const i of [nodeSel, start, dur, asap]) i.addEventListener('change', preview);
  dur.addEventListener('input', preview);
  confirm.onclick = async () => {
    confirm.disabled = true;
    const r = await call('POST', `${API}/namespaces/${encodeURIComponent(state.session!.user!)}/bookings`, obj());
    if (!r.ok) {
      out.textContent = `Refused: ${r.data.message}`;
      out.className = 'preview refused';
      return;
    }
    pendingKey = `${r.data.metadata.namespace}/${r.data.metadata.name}`;
    out.textContent = `Booking ${pendingKey} made; waiting for the operator…`;
    out.className = 'preview';
    out.dataset.created = pendingKey;
    const existing = state.bookings.get(pendingKey);
    if (existing?.status?.phase) followCreated(existing);
  };
  void preview();
}

/** After confirming: say what the operator decided, as it arrives on the watch. */
function followCreated(b: Booking): void {
  const out = document.getElementById('preview');
  const st = b.status;
  if (!out || !st?.phase) return;
  const key = `${b.metadata.namespace}/${b.metadata.name}`;
  if (st.phase === 'Expired' && (st.reason === 'Rejected' || st.reason === 'Busy')) {
    out.textContent = `Refused by the cluster (${st.reason}): ${st.message ?? ''}`;
    out.className = 'preview refused';
  } else {
    out.textContent = `${key} is ${st.phase}${st.startTime ? ` from ${fmtTime(Date.parse(st.startTime))}` : ''}${st.endTime ? ` until ${fmtTime(Date.parse(st.endTime))}` : ''}.`;
    out.className = 'preview ok';
  }
  out.dataset.phase = st.phase;
  pendingKey = undefined;
  $('sel').hidden = true;
}

/** The details of one booking; its owner may extend, shorten or end it. */
function showBooking(key: string): void {
  const b = state.bookings.get(key);
  if (!b) return closePanel();
  if (state.selected && state.selected !== key) for (const e of state.bars.get(state.selected) ?? []) e.classList.remove('selected');
  state.selected = key;
  for (const e of state.bars.get(key) ?? []) e.classList.add('selected');
  const body = panel(key);
  for (const line of describe(b, Date.now(), fmtTime)) body.appendChild(el('p', '', line));
  const mine = state.session?.user === b.metadata.namespace;
  const live = b.status?.phase === 'Pending' || b.status?.phase === 'Active';
  if (!mine || !live || b.spec.cancelled) return;
  const msg = el('p', 'preview');
  msg.id = 'change-result';
  msg.setAttribute('role', 'status');
  const button = (text: string, fn: () => void) => {
    const x = el('button', '', text);
    x.type = 'button';
    x.onclick = fn;
    body.appendChild(x);
  };
  button('Extend +30m', () => void extendBy(key, 'Extend', 30 * 60));
  button('Shorten −15m', () => void extendBy(key, 'Shorten', -15 * 60));
  button('End now', () => void sendChange(key, 'End', { spec: { cancelled: true } }));
  body.appendChild(msg);
}

/** Makes one's booking longer or shorter by kiwictl extend's rules (crds/api/extend.ts), then sends it. */
async function extendBy(key: string, label: string, seconds: number): Promise<void> {
  const b = state.bookings.get(key);
  if (!b) return;
  let patch: unknown;
  try {
    patch = { spec: planExtend(b, { kind: 'delta', seconds: Math.round(seconds) }, Date.now(), state.session?.defaultDuration ?? 3600).patch };
  } catch (e) {
    return changeResult(key, false, `Refused: ${(e as Error).message}`);
  }
  return sendChange(key, label, patch);
}

/** Sends a change of one's booking; the panel says whether it was taken or why not. */
async function sendChange(key: string, label: string, patch: unknown): Promise<void> {
  const [ns, name] = key.split('/');
  const r = await call('PATCH', `${API}/namespaces/${encodeURIComponent(ns)}/bookings/${encodeURIComponent(name)}`, patch);
  changeResult(key, r.ok, r.ok ? `${label}: sent; the calendar shows the operator's answer` : `Refused: ${r.data.message}`);
}

function changeResult(key: string, ok: boolean, text: string): void {
  if (state.selected !== key) showBooking(key);
  const msg = document.getElementById('change-result');
  if (!msg) return;
  msg.textContent = text;
  msg.className = ok ? 'preview ok' : 'preview refused';
}

// ---- mouse and keyboard ----------------------------------------------------------------------

function setupInput(): void {
  const lanes = $('lanes');
  const sel = $('sel');
  let drag: { row: number; t: number; row2: number; t2: number } | undefined;
  const at = (e: MouseEvent) => {
    const r = lanes.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    return { row: Math.max(0, Math.min(state.rows.length - 1, Math.floor(y / ROW_H))), t: snap(tOf(x), state.view) };
  };
  const drawSel = () => {
    if (!drag) return;
    const [r0, r1] = [Math.min(drag.row, drag.row2), Math.max(drag.row, drag.row2)];
    const [t0, t1] = [Math.min(drag.t, drag.t2), Math.max(drag.t, drag.t2)];
    sel.hidden = false;
    sel.style.left = `${xOf(t0)}px`;
    sel.style.width = `${Math.max(2, xOf(t1) - xOf(t0))}px`;
    sel.style.top = `${r0 * ROW_H}px`;
    sel.style.height = `${(r1 - r0 + 1) * ROW_H}px`;
  };
  // resizing one's own booking by its right edge: the end moves as far as the pointer has since
  // it took the grip (the grip is a few pixels wide, and at a week's zoom a pixel is ~4 minutes)
  let grip: { key: string; els: HTMLElement[]; end: number; from: number; took: number } | undefined;
  lanes.addEventListener('mousedown', (e) => {
    const target = e.target as HTMLElement;
    if (e.button === 0 && target.classList.contains('grip')) {
      e.preventDefault();
      e.stopPropagation();
      const key = target.closest<HTMLElement>('.bar')!.dataset.key!;
      const end = Date.parse(state.bookings.get(key)?.status?.endTime ?? '');
      grip = { key, els: state.bars.get(key) ?? [], end, from: end, took: at(e).t };
      return;
    }
    if (e.button !== 0 || target.closest('.bar')) return;
    e.preventDefault();
    const p = at(e);
    drag = { row: p.row, t: p.t, row2: p.row, t2: p.t };
    drawSel();
  });
  window.addEventListener('mousemove', (e) => {
    if (grip) {
      grip.end = Math.max(Date.now() + 60_000, grip.from + at(e).t - grip.took);
      for (const x of grip.els) x.style.width = `${Math.max(3, xOf(grip.end) - parseFloat(x.style.left))}px`;
      return;
    }
    if (!drag) return;
    const p = at(e);
    drag.row2 = p.row;
    drag.t2 = p.t;
    drawSel();
  });
  window.addEventListener('mouseup', () => {
    if (grip) {
      const g = grip;
      grip = undefined;
      const b = state.bookings.get(g.key);
      const end = b?.status?.endTime ? Date.parse(b.status.endTime) : undefined;
      if (b && end !== undefined) void extendBy(g.key, 'Resize', (g.end - end) / 1000).then(() => drawBooking(state.bookings.get(g.key)!));
      return;
    }
    if (!drag) return;
    const d = drag;
    drag = undefined;
    let [a, b] = [Math.min(d.t, d.t2), Math.max(d.t, d.t2)];
    if (b - a < 5 * 60_000) b = a + HOUR; // a click: one hour
    const nodes = state.rows.slice(Math.min(d.row, d.row2), Math.max(d.row, d.row2) + 1);
    const spec = selectionToSpec(nodes, a, b, Date.now());
    drawSelFor(nodes, spec.start ? Date.parse(spec.start) : Date.now(), (spec.start ? Date.parse(spec.start) : Date.now()) + spec.duration * 1000);
    bookingForm(nodes, a, b);
    keepInView(sel);
  });
  const drawSelFor = (nodes: string[], a: number, b: number) => {
    drag = { row: state.rowIndex.get(nodes[0])!, row2: state.rowIndex.get(nodes[nodes.length - 1])!, t: a, t2: b };
    drawSel();
    drag = undefined;
  };
  const bars = (e: Event) => (e.target as HTMLElement).closest<HTMLElement>('.bar');
  const open = (b: HTMLElement) => {
    showBooking(b.dataset.key!);
    keepInView(b);
  };
  lanes.addEventListener('click', (e) => {
    const b = bars(e);
    if (b) open(b);
  });
  lanes.addEventListener('keydown', (e) => {
    const b = bars(e);
    if (b && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      open(b);
    }
  });
  const tip = $('tip');
  const showTip = (b: HTMLElement, x: number, y: number) => {
    const bk = state.bookings.get(b.dataset.key!);
    if (!bk) return;
    tip.replaceChildren(...describe(bk, Date.now(), fmtTime).map((l) => el('div', '', l)));
    tip.hidden = false;
    tip.style.left = `${Math.min(window.innerWidth - 340, x + 12)}px`;
    tip.style.top = `${y + 14}px`;
  };
  lanes.addEventListener('mouseover', (e) => {
    const b = bars(e);
    if (b) showTip(b, (e as MouseEvent).clientX, (e as MouseEvent).clientY);
  });
  lanes.addEventListener('mouseout', (e) => {
    if (bars(e)) tip.hidden = true;
  });
  lanes.addEventListener('focusin', (e) => {
    const b = bars(e);
    if (!b) return;
    const r = b.getBoundingClientRect();
    showTip(b, r.left, r.bottom);
  });
  lanes.addEventListener('focusout', () => (tip.hidden = true));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closePanel();
  });
}

function setupControls(): void {
  const setView = (v: View) => {
    state.view = v;
    state.from = viewStart(Date.now(), v, zone);
    state.zoom = defaultZoom();
    for (const b of document.querySelectorAll<HTMLButtonElement>('[data-view]')) b.setAttribute('aria-pressed', String(b.dataset.view === v));
    drawAll();
  };
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-view]')) b.onclick = () => setView(b.dataset.view as View);
  $('prev').onclick = () => ((state.from = viewStart(state.from - (state.view === 'week' ? 3 * DAY : 12 * HOUR), state.view, zone)), drawAll());
  $('next').onclick = () => ((state.from = viewStart(state.from + span() + 12 * HOUR, state.view, zone)), drawAll());
  $('today').onclick = () => setView(state.view);
  $('zoom-in').onclick = () => ((state.zoom *= 1.5), drawAll());
  $('zoom-out').onclick = () => ((state.zoom = Math.max(defaultZoom() / 4, state.zoom / 1.5)), drawAll());
  for (const id of ['f-label', 'f-user', 'f-pool'] as const)
    $(id).addEventListener('input', () => {
      state.filter = { label: $<HTMLInputElement>('f-label').value, user: $<HTMLInputElement>('f-user').value, pool: $<HTMLSelectElement>('f-pool').value };
      drawAll();
    });
  $('new').onclick = () => {
    const now = Date.now();
    bookingForm(state.rows.slice(0, 1), now, now + HOUR);
  };
  setView('week');
}

/**
 * A Pool came, went or changed (its selector): the filter's choices follow, and the rows too when
 * a pool is chosen. A chosen pool that is gone falls back to "any pool".
 */
function poolsChanged(): void {
  const choices = poolChoices([...state.pools.values()]);
  const s = $<HTMLSelectElement>('f-pool');
  const any = Object.assign(el('option', '', 'any pool'), { value: '' });
  s.replaceChildren(any, ...choices.map((c) => Object.assign(el('option', '', c.text), { value: c.value, title: c.title })));
  const chosen = state.filter.pool;
  const cur = choices.some((c) => c.value === chosen) ? chosen : '';
  s.value = cur;
  s.disabled = choices.length === 0;
  s.title = choices.length ? '' : 'no pools: an admin makes them with kiwictl apply (kind Pool)';
  state.filter = { ...state.filter, pool: cur };
  if (chosen && state.synced.Node && state.synced.Booking) drawAll();
}

async function main(): Promise<void> {
  // the watches start at once; the first draw waits for them and the session (drawAll)
  watch('Node');
  watch('Booking');
  watch('Pool');
  setupInput();
  setupControls();
  await loadSession();
  if (state.synced.Node && state.synced.Booking) drawAll();
  setInterval(drawNow, 10_000);
  // bars that end or start as time passes (a planned slot becoming past) follow on redraws
  setInterval(() => {
    if (document.hasFocus()) for (const b of state.bookings.values()) if (b.status?.phase === 'Active') drawBooking(b);
  }, 60_000);
}

void main();

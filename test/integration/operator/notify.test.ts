// Notifications end to end: the real operator process and a real etcd, delivering to local sinks
// on 127.0.0.1 (a webhook receiver that checks the HMAC itself, a tiny SMTP server, a sendmail
// script, a webhook that never answers), and an operator killed with notifications in its outbox.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterConfig, Store, Subscription } from '../../../crds/api/index.js';
import { keys } from '../../../crds/api/index.js';
import { startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/ports.js';
import { smtpSink, webhookReceiver, type SmtpSink, type WebhookReceiver } from '../../helpers/notify-sinks.js';
import { waitFor } from '../../helpers/wait.js';
import { buildOperator, mkBooking, mkNode, startOperator, type OperatorProc } from './helpers.js';
import { kiwictl } from '../kiwictl/cli.js';

const SECRET = 'kiwitest-webhook-secret-0123456789';

describe('notifications end to end (real operator, real etcd, local sinks)', function () {
  this.timeout(90_000);
  let etcd: TestEtcd;
  let store: Store;
  let op: OperatorProc;
  let hook: WebhookReceiver;
  let later: WebhookReceiver;
  let dead: WebhookReceiver;
  let smtp: SmtpSink;
  let dir: string;
  let metricsPort: number;

  const sub = (ns: string, name: string, spec: Subscription['spec']): Subscription => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Subscription', metadata: { name, namespace: ns }, spec });
  const get = (ns: string, name: string) => store.get({ kind: 'Booking', namespace: ns, name });
  const phaseOf = (ns: string, name: string, phase: string, reason?: string) =>
    waitFor(async () => {
      const b = await get(ns, name);
      return b?.status?.phase === phase && (!reason || b.status.reason === reason) ? b : undefined;
    }, { timeoutMs: 15_000, what: `${ns}/${name} ${phase}` });
  const delivered = (r: WebhookReceiver, id: string) => waitFor(() => r.hits.find((h) => h.id === id && h.status === 200), { timeoutMs: 20_000, what: `webhook delivery of ${id} (got ${r.hits.map((h) => `${h.id}:${h.status}`).join(', ')})` });
  const metric = async (name: string, labels: string) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((x) => l.includes(x)));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const operator = (id: string) => startOperator(etcd.endpoint, { id, leaseTtl: 1, args: ['--metrics-addr', `127.0.0.1:${metricsPort}`] });

  before(async function () {
    this.timeout(60_000);
    await buildOperator();
    etcd = await startEtcd();
    store = etcd.store();
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-notify-'));
    writeFileSync(join(dir, 'secret'), SECRET + '\n', { mode: 0o600 });
    // A local "sendmail": keeps each message it is given, and its arguments.
    writeFileSync(join(dir, 'sendmail'), `#!/bin/sh\nn=$(date +%s%N)\necho "$@" > "${dir}/mail-$n.args"\ncat > "${dir}/mail-$n.eml"\n`);
    chmodSync(join(dir, 'sendmail'), 0o755);
    [hook, later, dead, smtp] = await Promise.all([webhookReceiver(SECRET), webhookReceiver(SECRET), webhookReceiver(SECRET), smtpSink()]);
    dead.hang(true);
    metricsPort = await freePort();
    const cfg: ClusterConfig = {
      apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' },
      spec: {
        notifications: {
          sinks: [
            { name: 'hook', webhook: { url: hook.url, secretFile: join(dir, 'secret') }, maxAttempts: 3 },
            { name: 'mail', smtp: { host: '127.0.0.1', port: smtp.port, from: 'kiwi@cluster.example', domain: 'lab.example' } },
            { name: 'local', sendmail: { path: join(dir, 'sendmail'), from: 'kiwi' } },
            { name: 'dead', webhook: { url: dead.url, secretFile: join(dir, 'secret') }, timeoutSeconds: 5, maxAttempts: 2 },
            { name: 'later', webhook: { url: later.url, secretFile: join(dir, 'secret') }, maxAttempts: 20 },
          ],
        },
      },
    };
    await store.create(cfg);
    for (const n of ['n1', 'n2', 'n3']) await store.create(mkNode(n));
    await store.create(sub('kiwitest-alice', 'all', { sinks: ['hook', 'mail', 'local', 'dead'], beforeEnd: [60] }));
    op = operator('op-notify-1');
  });
  after(async () => {
    await op?.stop();
    await Promise.all([hook?.close(), later?.close(), dead?.close(), smtp?.close()]);
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Started, Queued, Moved up, Refused, EndingSoon and Ended reach a signed webhook, SMTP and sendmail; a failed POST is retried under the same key', async () => {
    hook.failNext(1); // the first POST gets a 503
    const b1 = await store.create(mkBooking('kiwitest-alice', 'b1', { nodes: ['n1'], duration: 70 }));
    await phaseOf('kiwitest-alice', 'b1', 'Active');
    const uid1 = (await get('kiwitest-alice', 'b1'))!.metadata.uid!;
    const started = await delivered(hook, `${uid1}.Started`);
    assert.equal(hook.hits[0].status, 503, 'the first attempt was refused');
    assert.equal(hook.hits[0].id, `${uid1}.Started`, 'and the retry carried the same idempotency key');
    assert.equal(started.body.type, 'Started');
    assert.equal(started.body.user, 'kiwitest-alice');
    assert.deepEqual(started.body.nodes, ['n1']);
    assert.ok(b1);

    // The dead sink holds its requests open all this while: nothing else waited for it.
    assert.ok(dead.hung >= 1, 'the hung sink has a request open');
    await store.create(mkBooking('kiwitest-bob', 'hold', { nodes: ['n2'], duration: 600 }));
    await phaseOf('kiwitest-bob', 'hold', 'Active');
    await store.create(mkBooking('kiwitest-alice', 'b2', { nodes: ['n2'], duration: 60 }));
    const q = await phaseOf('kiwitest-alice', 'b2', 'Pending');
    const uid2 = q.metadata.uid!;
    const queued = await delivered(hook, `${uid2}.Queued`);
    assert.equal(queued.body.startTime, q.status!.startTime);
    // bob's booking is shortened: alice's planned start moves up the queue
    const hold = (await get('kiwitest-bob', 'hold'))!;
    hold.spec.duration = 300;
    await store.update(hold);
    const moved = await waitFor(async () => {
      const b = await get('kiwitest-alice', 'b2');
      return b?.status?.startTime !== q.status!.startTime ? b : undefined;
    }, { what: 'b2 moved up' });
    const m = await delivered(hook, `${uid2}.Moved.${moved.status!.startTime}`);
    assert.equal(m.body.direction, 'up');
    assert.equal(m.body.previousStart, q.status!.startTime);
    // queue: false on a busy node: refused
    await store.create(mkBooking('kiwitest-alice', 'b3', { nodes: ['n2'], duration: 60, queue: false }));
    const r = await phaseOf('kiwitest-alice', 'b3', 'Expired');
    const refused = await delivered(hook, `${r.metadata.uid}.Refused`);
    assert.match(refused.body.reason, /^(Busy|Rejected)$/);
    // EndingSoon 60 s before b1's end (it lasts 70 s), then a kill: Ended, reason Cancelled
    const a1 = (await get('kiwitest-alice', 'b1'))!;
    await delivered(hook, `${uid1}.EndingSoon.60.${a1.status!.endTime}`);
    a1.spec.cancelled = true;
    await store.update(a1);
    const ended = await delivered(hook, `${uid1}.Ended`);
    assert.equal(ended.body.reason, 'Cancelled');

    assert.ok(hook.hits.every((h) => h.signatureValid), 'every request carried a valid HMAC over timestamp and body');
    assert.ok(hook.hits.every((h) => h.body.id === h.id), 'the signed body carries the idempotency key too');
    const ok = hook.hits.filter((h) => h.status === 200).map((h) => h.id);
    assert.equal(new Set(ok).size, ok.length, 'each event accepted once');
    const bobUid = (await get('kiwitest-bob', 'hold'))!.metadata.uid!;
    assert.ok(!ok.some((id) => id.startsWith(bobUid)), 'bob has no subscription: nothing of his is sent');

    // The same events by SMTP (to USER@domain) and by sendmail (to the local user).
    const mails = await waitFor(() => (smtp.mails.length >= 6 ? smtp.mails : undefined), { timeoutMs: 20_000, what: 'six mails over SMTP' });
    assert.ok(mails.every((x) => x.to.length === 1 && x.to[0] === 'kiwitest-alice@lab.example' && x.from === 'kiwi@cluster.example'));
    const endedMail = mails.find((x) => x.data.includes(`${uid1}.Ended`))!;
    assert.match(endedMail.data, /Subject: \[kiwi\] booking kiwitest-alice\/b1 ended \(Cancelled\)/);
    assert.match(endedMail.data, new RegExp(`Message-ID: <${uid1}\\.Ended@kiwi\\.dev>`, 'i'));
    const sent = await waitFor(() => {
      const f = readdirSync(dir).filter((x) => x.endsWith('.eml'));
      return f.length >= 6 ? f : undefined;
    }, { timeoutMs: 20_000, what: 'six mails through sendmail' });
    const args = readdirSync(dir).filter((x) => x.endsWith('.args')).map((f) => readFileSync(join(dir, f), 'utf8'));
    assert.ok(args.every((a) => /-f kiwi/.test(a) && /kiwitest-alice\s*$/.test(a)), `sendmail called for the local user: ${args[0]}`);
    assert.ok(sent.some((f) => readFileSync(join(dir, f), 'utf8').includes('booking kiwitest-alice/b3 was refused')));
  });

  it('a sink that never answers is given up on after its attempts and counted, while the others are counted delivered', async () => {
    const failed = await waitFor(async () => (await metric('kiwi_notifications_failed_total', 'sink="dead"')) || undefined, { timeoutMs: 30_000, what: 'a failure counted for the dead sink' });
    assert.ok(failed >= 1);
    assert.ok((await metric('kiwi_notifications_delivered_total', 'sink="hook",type="Started"')) >= 1);
    assert.ok((await metric('kiwi_notifications_delivered_total', 'sink="mail"')) >= 1);
    const uid1 = (await get('kiwitest-alice', 'b1'))!.metadata.uid!;
    const evs = await waitFor(async () => {
      const e = (await store.listEvents({ kind: 'Booking', namespace: 'kiwitest-alice', name: 'b1' })).filter((x) => x.reason === 'NotificationFailed');
      return e.length ? e : undefined;
    }, { what: 'a NotificationFailed event on the booking' });
    assert.match(evs[0].message, /to sink dead: .*after 2 attempts/);
    assert.ok(uid1);
  });

  it('a Subscription naming a sink the cluster lacks says so in its status; one that is not valid is ignored, with the reason', async () => {
    await store.create(sub('kiwitest-carol', 'typo', { sinks: ['hok'] }));
    const s = await waitFor(async () => {
      const x = await store.get({ kind: 'Subscription', namespace: 'kiwitest-carol', name: 'typo' });
      return x?.status?.conditions?.find((c) => c.type === 'SinksKnown' && c.status === 'False') ? x : undefined;
    }, { what: 'SinksKnown False' });
    assert.match(s.status!.conditions!.find((c) => c.type === 'SinksKnown')!.message!, /no sink "hok"/);
    // kiwictl shows the settings: the cluster's sinks, the user's subscriptions and the operator's word on them.
    const shown = await kiwictl(['notifications', '-n', 'kiwitest-carol'], { env: { KIWI_ENDPOINTS: etcd.endpoint } });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^hook\\s+webhook\\s+${hook.url.replaceAll('.', '\\.')}\\s+3\\s+10s\\s*$`, 'm'));
    assert.match(shown.stdout, /^mail\s+smtp\s+127\.0\.0\.1:\d+ -> USER@lab\.example\s+5\s+10s\s*$/m);
    assert.match(shown.stdout, /^kiwitest-carol\s+typo\s+hok\s+all\s+1h\s+-\s+SinksKnown=False: the ClusterConfig has no sink "hok"/m);
    // Written raw, past kiwictl: sinks is not a list.
    await etcd.client().put(keys.spec({ kind: 'Subscription', namespace: 'kiwitest-carol', name: 'raw' })).value(JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Subscription', metadata: { name: 'raw', namespace: 'kiwitest-carol' }, spec: { sinks: 'hook' } }));
    const raw = await waitFor(async () => {
      const v = await etcd.client().get(keys.status({ kind: 'Subscription', namespace: 'kiwitest-carol', name: 'raw' })).string();
      return v ? JSON.parse(v) : undefined;
    }, { what: 'the invalid subscription\'s status' });
    const valid = raw.conditions.find((c: any) => c.type === 'Valid');
    assert.equal(valid.status, 'False');
    assert.match(valid.message, /spec\.sinks: must be an array/);
  });

  it('notifications in the outbox survive an operator killed before delivering them; the cursor keeps delivered ones from being sent again', async () => {
    await store.delete({ kind: 'Subscription', namespace: 'kiwitest-carol', name: 'typo' });
    later.failNext(1000);
    await store.create(sub('kiwitest-dave', 'later', { sinks: ['later'] }));
    await store.create(mkBooking('kiwitest-dave', 'd1', { nodes: ['n3'], duration: 600 }));
    const d1 = await phaseOf('kiwitest-dave', 'd1', 'Active');
    const id = `${d1.metadata.uid}.Started`;
    await waitFor(() => later.hits.some((h) => h.id === id), { what: 'a first, refused attempt' });
    const outboxKey = keys.outbox('later', id);
    assert.ok(await etcd.client().get(outboxKey).string(), 'the notification waits in the outbox in etcd');
    const hookBefore = hook.hits.filter((h) => h.status === 200).length;
    await op.kill(); // SIGKILL: nothing is flushed
    later.failNext(0);
    op = operator('op-notify-2');
    const h = await delivered(later, id);
    assert.equal(h.body.booking, 'kiwitest-dave/d1');
    await waitFor(async () => !(await etcd.client().get(outboxKey).string()), { what: 'the outbox entry removed after delivery' });
    // The new leader's first passes derived nothing already sent: alice's cursors held.
    await waitFor(async () => (await metric('kiwi_notifications_delivered_total', 'sink="later"')) >= 1 || undefined, { what: 'the new leader counted it' });
    assert.equal(hook.hits.filter((x) => x.status === 200).length, hookBefore, 'nothing delivered to alice\'s hook twice');
  });
});


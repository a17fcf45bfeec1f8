// manifests/ is what the chart renders, every Kubernetes object in it is valid against
// Kubernetes' schemas, and every Kiwi example is valid against crds/.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import * as yaml from 'js-yaml';
import { renderManifests, renderChart, renderTemplate } from '../../../scripts/render-chart.js';
import { validateObject } from '../../../crds/api/validate.js';

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

describe('deployment manifests', () => {
  it('manifests/ holds exactly what the chart renders (run `npm run manifests` after changing the chart)', () => {
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

  it('the node daemon gets hostPID and only the capabilities it needs, not privileged', () => {
    const ds = (yaml.loadAll(readFileSync('manifests/base/kiwi.yaml', 'utf8')) as any[]).find((d) => d?.kind === 'DaemonSet');
    assert.equal(ds.spec.template.spec.hostPID, true);
    const sc = ds.spec.template.spec.containers[0].securityContext;
    assert.equal(sc.privileged, undefined);
    assert.deepEqual(sc.capabilities, { drop: ['ALL'], add: ['KILL', 'DAC_OVERRIDE'] });
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

  it('the renderer refuses template constructs outside the plain subset', () => {
    const ctx = { Values: { a: 1 }, Release: { Name: 'r', Namespace: 'n', Service: 'Helm' }, Chart: {} };
    assert.equal(renderTemplate('x: {{ .Values.a }}', ctx), 'x: 1');
    assert.throws(() => renderTemplate('{{ include "x" . }}', ctx), /unsupported/);
    assert.throws(() => renderTemplate('{{ range .Values.a }}{{ end }}', ctx), /unsupported|end without if/);
    assert.throws(() => renderTemplate('{{ if .Values.a }}', ctx), /if without end/);
  });
});

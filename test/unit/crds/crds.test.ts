// The CRDs are the one source of truth: these tests keep the generated code current and
// the files loadable by a real Kubernetes API server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
// client-node 1.x keeps its model serializer out of the index; the file is public (no exports map).
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { generate, loadCrds } from '../../../crds/gen/generate.js';
import { resolveKind, KINDS } from '../../../crds/api/kinds.js';
import { structuralProblems } from '../../../crds/gen/structural.js';


describe('CRDs', () => {
  it('the generated types, schemas and validators are current (run `npm run gen` after changing crds/*.yaml)', async () => {
    const { types, schemas, validators } = await generate();
    assert.equal(readFileSync('crds/api/types.gen.ts', 'utf8'), types);
    assert.equal(readFileSync('crds/api/schemas.gen.ts', 'utf8'), schemas);
    assert.ok(readFileSync('crds/api/validators.gen.ts', 'utf8') === validators, 'crds/api/validators.gen.ts differs from what `npm run gen` writes');
  });

  for (const crd of loadCrds()) {
    describe(crd.metadata.name, () => {
      it('is a valid apiextensions.k8s.io/v1 CustomResourceDefinition (client-node model round-trip)', () => {
        assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
        assert.equal(crd.kind, 'CustomResourceDefinition');
        const typed = ObjectSerializer.deserialize(crd, 'V1CustomResourceDefinition');
        const back = ObjectSerializer.serialize(typed, 'V1CustomResourceDefinition');
        // Every field survives: nothing in the file is unknown to Kubernetes' model.
        assert.deepEqual(JSON.parse(JSON.stringify(back)), crd);
        assert.equal(crd.metadata.name, `${crd.spec.names.plural}.${crd.spec.group}`);
      });
      it('has a schema a real API server accepts (crds/gen/structural.ts), a status subresource and printer columns', () => {
        const v = crd.spec.versions[0];
        assert.deepEqual(structuralProblems(v.schema.openAPIV3Schema), []);
        assert.deepEqual(v.subresources, { status: {} });
        assert.ok(v.additionalPrinterColumns.length >= 3);
        for (const col of v.additionalPrinterColumns) assert.match(col.jsonPath, /^\.(spec|status|metadata)\./);
      });
      it('describes every field (explain shows these)', () => {
        const missing: string[] = [];
        // fields of small records whose names say it all
        const selfExplaining = /(conditions|waitingFor)\[\]\.[a-zA-Z]+$|\.(capacity|booking)\.[a-zA-Z]+$|\.(apiVersion|kind|metadata)$/;
        const walk = (s: any, path: string) => {
          for (const [k, c] of Object.entries<any>(s.properties ?? {})) {
            const p = `${path}.${k}`;
            if (!c.description && !selfExplaining.test(p)) missing.push(p);
            walk(c, p);
            if (c.items) walk(c.items, `${p}[]`);
          }
        };
        walk(crd.spec.versions[0].schema.openAPIV3Schema, '');
        assert.deepEqual(missing, []);
      });
    });
  }

  it('kinds resolve by plural, singular, short name and kind', () => {
    for (const t of ['bookings', 'booking', 'bk', 'Booking', 'bookings.kiwi.dev']) assert.equal(resolveKind(t).kind, 'Booking');
    for (const t of ['nodes', 'node', 'no']) assert.equal(resolveKind(t).kind, 'Node');
    for (const t of ['clusterconfigs', 'cc']) assert.equal(resolveKind(t).kind, 'ClusterConfig');
    assert.throws(() => resolveKind('pods'), /unknown kind "pods": Kiwi knows bookings/);
    for (const t of ['usagerecords', 'usagerecord', 'ur']) assert.equal(resolveKind(t).kind, 'UsageRecord');
    for (const t of ['pools', 'pool', 'pl']) assert.equal(resolveKind(t).kind, 'Pool');
    for (const t of ['accounts', 'account', 'acct']) assert.equal(resolveKind(t).kind, 'Account');
    assert.deepEqual(KINDS.map((k) => k.namespaced), [true, false, false, true, false, false, true, true]);
  });
});

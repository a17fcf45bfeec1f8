// Kubernetes' object models from @kubernetes/client-node, in the form Kiwi stores them:
// as JSON on the wire, where timestamps are RFC 3339 strings (client-node's models hold
// Date objects after deserialization) and schemas keep their wire keys (enum, default,
// x-kubernetes-*), which client-node renames (_enum, _default, xKubernetes...).
import type {
  V1ObjectMeta,
  V1CustomResourceDefinition,
  V1CustomResourceDefinitionSpec,
  V1CustomResourceDefinitionVersion,
} from '@kubernetes/client-node';

export type ObjectMeta = Omit<V1ObjectMeta, 'creationTimestamp' | 'deletionTimestamp' | 'managedFields'> & {
  creationTimestamp?: string;
};

/** A JSON schema as written in a CRD (openAPIV3Schema), wire keys and all. */
export type JsonSchema = { [keyword: string]: any };

export type CrdVersion = Omit<V1CustomResourceDefinitionVersion, 'schema'> & { schema: { openAPIV3Schema: JsonSchema } };
export type Crd = Omit<V1CustomResourceDefinition, 'metadata' | 'spec' | 'status'> & {
  metadata: { name: string };
  spec: Omit<V1CustomResourceDefinitionSpec, 'versions'> & { versions: CrdVersion[] };
};

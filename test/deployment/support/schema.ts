import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { KubeObject } from './kustomize';

/** A model class of `kubernetes-models`: its prototype's `validate` checks `this` against the schema. */
interface SchemaModel {
  apiVersion: string;
  kind: string;
  prototype: { validate(): void };
}

/** The kinds the manifests use. Another kind fails the check until its schema is added here. */
const MODELS: SchemaModel[] = [
  ConfigMap,
  Secret,
  Service,
  Deployment,
  StatefulSet,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  NetworkPolicy,
  ServiceMonitor,
];

/**
 * A deep copy of `value` whose objects record which of their fields are read. The schemas' validators read
 * every field they know (and enumerate the keys of maps such as labels), so a field never read is one the
 * schema does not have: a typo, or a field at the wrong level, which Kubernetes would drop or refuse.
 */
function tracked(value: unknown, path: string, unread: Set<string>): unknown {
  if (Array.isArray(value)) {
    return value.map((item, index) => tracked(item, `${path}[${index}]`, unread));
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const target: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    target[key] = tracked(item, `${path}.${key}`, unread);
    unread.add(`${path}.${key}`);
  }
  return new Proxy(target, {
    get(object, key, receiver) {
      if (typeof key === 'string' && Object.hasOwn(object, key)) {
        unread.delete(`${path}.${key}`);
      }
      return Reflect.get(object, key, receiver) as unknown;
    },
    ownKeys(object) {
      for (const key of Object.keys(object)) {
        unread.delete(`${path}.${key}`);
      }
      return Reflect.ownKeys(object);
    },
  });
}

/**
 * Checks an object against the Kubernetes (or Prometheus Operator) schema of its apiVersion and kind,
 * offline: types, required fields, formats, and no field the schema does not know.
 * @returns what is wrong, one message per problem; empty when the object is valid.
 */
export function schemaProblems(object: KubeObject): string[] {
  const name = `${object.kind}/${object.metadata?.name}`;
  const model = MODELS.find(
    (candidate) => candidate.apiVersion === object.apiVersion && candidate.kind === object.kind,
  );
  if (!model) {
    return [`${name}: no schema for ${object.apiVersion} ${object.kind}`];
  }
  const unread = new Set<string>();
  try {
    model.prototype.validate.call(tracked(object, '', unread));
  } catch (error) {
    // A validator stops at its first error, so the fields after it were never read: report only the error.
    return [`${name}: ${(error as Error).message}`];
  }
  return [...unread].map((path) => `${name}: unknown field ${path.slice(1)}`);
}

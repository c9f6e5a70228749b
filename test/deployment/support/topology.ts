import { randomBytes } from 'node:crypto';
import {
  ConfigMap,
  Container,
  HorizontalPodAutoscaler,
  LabelSelector,
  PodSpec,
  Secret,
  Service,
  Workload,
} from './kube-types';
import { KubeObject, findObject, renderKustomization } from './kustomize';
import { repoPath } from './repository';

/** Each way the manifests can be applied: `kubectl apply -k <dir>`. */
export const TOPOLOGIES: [name: string, dir: string][] = [
  ['shared Ollama', 'config/kubernetes'],
  ['shared Ollama on a GPU', 'config/kubernetes/overlays/gpu'],
  ['Ollama sidecar', 'config/kubernetes/overlays/sidecar'],
  ['several Ollama servers', 'config/kubernetes/overlays/ollama-pool'],
];

/** The ServiceMonitor, as a component any of the topologies may add (it needs the Prometheus Operator's CRDs). */
export const SERVICE_MONITOR_COMPONENT = 'config/kubernetes/components/service-monitor';

export const GATEWAY = 'local-llm-gateway';
export const OLLAMA_IMAGE = /^(docker\.io\/)?ollama\/ollama(:|@|$)/;

/** The Secret the gateway reads API_KEYS from; the operator creates it (docs/deployment.md), nothing ships it. */
export const GATEWAY_SECRET = 'local-llm-gateway-secrets';

/** Secrets that exist in the cluster besides the rendered objects: name → key → value. */
export type ClusterSecrets = Record<string, Record<string, string>>;

/** What the documented `kubectl create secret` step creates: one key, 32 random bytes in hex. */
export function operatorSecrets(): ClusterSecrets {
  return { [GATEWAY_SECRET]: { API_KEYS: randomBytes(32).toString('hex') } };
}

/** Where the Ollama that the gateway uses runs, and how many gateway replicas share it. */
export interface OllamaPlacement {
  container: Container;
  /** The pod the container runs in. */
  pod: PodSpec;
  workload?: Workload;
  /** Pods running that container behind the URL: all a Service selects, or the one pod a name denotes. */
  replicas: number;
  /** At most this many gateway replicas send their requests to those pods. */
  gatewayReplicas: number;
}

/** Whether a label selector (matchLabels and matchExpressions) selects an object with these labels. */
export function selects(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return values.includes(labels[key]);
      case 'NotIn':
        return !values.includes(labels[key]);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        throw new Error(`unknown selector operator ${operator}`);
    }
  });
  return byLabel && byExpression;
}

export class Topology {
  readonly objects: KubeObject[];

  /**
   * @param dir the kustomization, relative to the repository root
   * @param secrets Secrets the operator created before applying it
   */
  constructor(
    readonly dir: string,
    private readonly secrets: ClusterSecrets = operatorSecrets(),
  ) {
    this.objects = renderKustomization(repoPath(dir));
  }

  get deployment(): Workload {
    return findObject<Workload>(this.objects, 'Deployment', GATEWAY);
  }

  get pod(): PodSpec {
    return this.deployment.spec.template.spec;
  }

  get gateway(): Container {
    const container = this.pod.containers.find((candidate) => candidate.name === 'gateway');
    if (!container) {
      throw new Error(`${this.dir}: the ${GATEWAY} Deployment has no container named gateway`);
    }
    return container;
  }

  get autoscaler(): HorizontalPodAutoscaler {
    return findObject<HorizontalPodAutoscaler>(this.objects, 'HorizontalPodAutoscaler', GATEWAY);
  }

  get workloads(): Workload[] {
    return this.objects.filter(
      (object): object is Workload => object.kind === 'Deployment' || object.kind === 'StatefulSet',
    );
  }

  /**
   * The gateway container's environment as Kubernetes assembles it: envFrom in order, then env.
   * @throws Error where Kubernetes would not start the container: a Secret or key that does not exist.
   */
  get environment(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const source of this.gateway.envFrom ?? []) {
      if (source.configMapRef) {
        Object.assign(env, findObject<ConfigMap>(this.objects, 'ConfigMap', source.configMapRef.name).data);
      }
      if (source.secretRef) {
        Object.assign(env, this.secretData(source.secretRef.name));
      }
    }
    for (const variable of this.gateway.env ?? []) {
      const { secretKeyRef, configMapKeyRef } = variable.valueFrom ?? {};
      const reference = secretKeyRef ?? configMapKeyRef;
      if (!reference) {
        env[variable.name] = variable.value ?? '';
        continue;
      }
      const data = secretKeyRef
        ? this.secretData(reference.name)
        : findObject<ConfigMap>(this.objects, 'ConfigMap', reference.name).data;
      const value = data[reference.key];
      if (value === undefined && !reference.optional) {
        throw new Error(`${this.dir}: ${variable.name} refers to key ${reference.key} of ${reference.name}, absent`);
      }
      if (value !== undefined) {
        env[variable.name] = value;
      }
    }
    return env;
  }

  private secretData(name: string): Record<string, string> {
    const shipped = this.objects.find(
      (object): object is Secret => object.kind === 'Secret' && object.metadata.name === name,
    );
    if (!shipped) {
      const created = this.secrets[name];
      if (!created) {
        throw new Error(`${this.dir}: Secret ${name} is neither in the manifests nor created by the operator`);
      }
      return created;
    }
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(shipped.data ?? {})) {
      data[key] = Buffer.from(value, 'base64').toString('utf8');
    }
    return Object.assign(data, shipped.stringData ?? {});
  }

  /** The number a probe or Service port names: itself, or the container port with that name. */
  static resolvePort(container: Container, port: number | string | undefined): number | undefined {
    if (typeof port === 'number') {
      return port;
    }
    return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
  }

  /** Pod templates whose labels a Service or budget selector matches. */
  workloadsSelectedBy(selector: Record<string, string>): Workload[] {
    return this.workloads.filter((workload) =>
      selects({ matchLabels: selector }, workload.spec.template.metadata.labels),
    );
  }

  /**
   * Follows an Ollama URL to the Ollama container behind it: a sidecar in the gateway's own pod for a
   * loopback URL; one StatefulSet pod for `<pod>.<headless Service>`; else the pods behind the Service
   * that the URL's host names.
   * @throws Error naming what is missing on the way.
   */
  ollamaBehind(url: URL): OllamaPlacement {
    const port = Number(url.port || 80);
    if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') {
      const sidecar = [...(this.pod.initContainers ?? []), ...this.pod.containers].find((c) =>
        OLLAMA_IMAGE.test(c.image),
      );
      if (!sidecar) {
        throw new Error(`${this.dir}: OLLAMA_URL ${url.href} is the pod's loopback, but the pod runs no Ollama`);
      }
      return { container: sidecar, pod: this.pod, replicas: 1, gatewayReplicas: 1 };
    }
    const [first, second] = url.hostname.split('.');
    const podName = second === undefined ? undefined : first;
    const serviceName = second ?? first;
    const service = findObject<Service>(this.objects, 'Service', serviceName);
    const servicePort = service.spec.ports.find((candidate) => candidate.port === port);
    if (!servicePort) {
      throw new Error(`${this.dir}: Service ${serviceName} has no port ${port}`);
    }
    const [workload, ...others] = this.workloadsSelectedBy(service.spec.selector);
    if (!workload || others.length > 0) {
      throw new Error(`${this.dir}: Service ${serviceName} must select exactly one workload`);
    }
    const container = workload.spec.template.spec.containers.find((candidate) => OLLAMA_IMAGE.test(candidate.image));
    if (!container) {
      throw new Error(`${this.dir}: Service ${serviceName} selects ${workload.metadata.name}, which runs no Ollama`);
    }
    const targetPort = Topology.resolvePort(container, servicePort.targetPort ?? servicePort.port);
    if (targetPort === undefined || !container.ports?.some((candidate) => candidate.containerPort === targetPort)) {
      throw new Error(`${this.dir}: Service ${serviceName} targets a port the Ollama container does not expose`);
    }
    const gatewayReplicas = this.autoscaler.spec.maxReplicas;
    const pod = workload.spec.template.spec;
    if (podName === undefined) {
      return { container, pod, workload, replicas: workload.spec.replicas ?? 1, gatewayReplicas };
    }
    // A pod's own DNS name exists only for a StatefulSet pod under the headless Service named as its serviceName.
    if (
      workload.kind !== 'StatefulSet' ||
      service.spec.clusterIP !== 'None' ||
      workload.spec.serviceName !== serviceName
    ) {
      throw new Error(
        `${this.dir}: ${url.hostname} is no pod name: ${serviceName} is not the headless Service of a StatefulSet`,
      );
    }
    if (!statefulSetPodNames(workload).includes(podName)) {
      throw new Error(`${this.dir}: ${url.hostname} names no pod of StatefulSet ${workload.metadata.name}`);
    }
    return { container, pod, workload, replicas: 1, gatewayReplicas };
  }
}

/** The pods a StatefulSet creates: `<name>-0` ... `<name>-<replicas - 1>`. */
export function statefulSetPodNames(statefulSet: Workload): string[] {
  return Array.from(
    { length: statefulSet.spec.replicas ?? 1 },
    (_, ordinal) => `${statefulSet.metadata.name}-${ordinal}`,
  );
}

/**
 * Where an Ollama container keeps its key pair and models: `$HOME/.ollama` (the image's HOME is /root for
 * root; a non-root user must be given HOME), and the models in `OLLAMA_MODELS` or `$HOME/.ollama/models`.
 * @throws Error for a non-root Ollama without HOME, which would have nowhere to write.
 */
export function ollamaDirectories(container: Container, pod: PodSpec): { data: string; models: string } {
  const uid = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser ?? 0;
  const home = containerEnv(container, 'HOME') ?? (uid === 0 ? '/root' : undefined);
  if (home === undefined) {
    throw new Error(`the Ollama container ${container.name} runs as uid ${uid} without HOME`);
  }
  const data = `${home.replace(/\/$/, '')}/.ollama`;
  return { data, models: containerEnv(container, 'OLLAMA_MODELS') ?? `${data}/models` };
}

/** The mount a path lies on: the one with the longest mount path that contains it, if any. */
export function mountOf(container: Container, path: string): { name: string; mountPath: string } | undefined {
  return (container.volumeMounts ?? [])
    .filter(({ mountPath }) => path === mountPath || path.startsWith(`${mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

/** The value of an environment variable that a container sets directly. */
export function containerEnv(container: Container, name: string): string | undefined {
  return container.env?.find((variable) => variable.name === name)?.value;
}

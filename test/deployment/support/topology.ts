import { ConfigMap, Container, HorizontalPodAutoscaler, PodSpec, Secret, Service, Workload } from './kube-types';
import { KubeObject, findObject, renderKustomization } from './kustomize';
import { repoPath } from './repository';

/** Each way the manifests can be applied: `kubectl apply -k <dir>`. */
export const TOPOLOGIES: [name: string, dir: string][] = [
  ['shared Ollama', 'config/kubernetes'],
  ['shared Ollama on a GPU', 'config/kubernetes/overlays/gpu'],
  ['Ollama sidecar', 'config/kubernetes/overlays/sidecar'],
];

export const GATEWAY = 'local-llm-gateway';
export const OLLAMA_IMAGE = /^(docker\.io\/)?ollama\/ollama(:|@|$)/;

/** Where the Ollama that the gateway uses runs, and how many gateway replicas share it. */
export interface OllamaPlacement {
  container: Container;
  /** Pods running that container behind the gateway's OLLAMA_URL. */
  replicas: number;
  /** At most this many gateway replicas send their requests to those pods. */
  gatewayReplicas: number;
}

export class Topology {
  readonly objects: KubeObject[];

  constructor(readonly dir: string) {
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

  /** The gateway container's environment as Kubernetes assembles it: envFrom in order, then env. */
  get environment(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const source of this.gateway.envFrom ?? []) {
      if (source.configMapRef) {
        Object.assign(env, findObject<ConfigMap>(this.objects, 'ConfigMap', source.configMapRef.name).data);
      }
      if (source.secretRef) {
        const secret = findObject<Secret>(this.objects, 'Secret', source.secretRef.name);
        for (const [key, value] of Object.entries(secret.data ?? {})) {
          env[key] = Buffer.from(value, 'base64').toString('utf8');
        }
        Object.assign(env, secret.stringData ?? {});
      }
    }
    for (const variable of this.gateway.env ?? []) {
      env[variable.name] = variable.value ?? '';
    }
    return env;
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
    return this.objects
      .filter((object): object is Workload => object.kind === 'Deployment' || object.kind === 'StatefulSet')
      .filter((workload) =>
        Object.entries(selector).every(([key, value]) => workload.spec.template.metadata.labels[key] === value),
      );
  }

  /**
   * Follows OLLAMA_URL to the Ollama container behind it: a sidecar in the gateway's own pod for a loopback
   * URL, else the pods behind the Service that the URL's host names.
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
      return { container: sidecar, replicas: 1, gatewayReplicas: 1 };
    }
    const service = findObject<Service>(this.objects, 'Service', url.hostname);
    const servicePort = service.spec.ports.find((candidate) => candidate.port === port);
    if (!servicePort) {
      throw new Error(`${this.dir}: Service ${url.hostname} has no port ${port}`);
    }
    const [workload, ...others] = this.workloadsSelectedBy(service.spec.selector);
    if (!workload || others.length > 0) {
      throw new Error(`${this.dir}: Service ${url.hostname} must select exactly one workload`);
    }
    const container = workload.spec.template.spec.containers.find((candidate) => OLLAMA_IMAGE.test(candidate.image));
    if (!container) {
      throw new Error(`${this.dir}: Service ${url.hostname} selects ${workload.metadata.name}, which runs no Ollama`);
    }
    const targetPort = Topology.resolvePort(container, servicePort.targetPort ?? servicePort.port);
    if (targetPort === undefined || !container.ports?.some((candidate) => candidate.containerPort === targetPort)) {
      throw new Error(`${this.dir}: Service ${url.hostname} targets a port the Ollama container does not expose`);
    }
    return { container, replicas: workload.spec.replicas ?? 1, gatewayReplicas: this.autoscaler.spec.maxReplicas };
  }
}

/** The value of an environment variable that a container sets directly. */
export function containerEnv(container: Container, name: string): string | undefined {
  return container.env?.find((variable) => variable.name === name)?.value;
}

import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { ENVIRONMENT_VARIABLE_NAMES, parseEnvironment } from '../../src/config/environment';
import { parseGoDurationMs } from '../../src/config/duration';
import { PodDisruptionBudget, Service, Workload } from './support/kube-types';
import { KubeObject, canonical, findObject } from './support/kustomize';
import { packageVersion, parseYaml, repoPath } from './support/repository';
import { GATEWAY, TOPOLOGIES, Topology, containerEnv, mountOf, ollamaDirectories } from './support/topology';

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const itWithKubectl = kubectl.status === 0 ? it : it.skip;

/** A pull of a model of several GB on an ordinary link, plus its first load. */
const MODEL_PULL_SECONDS = 15 * 60;

/** The configuration the gateway parses, read as if no TMPDIR were set, as in the container. */
function containerConfiguration(env: Record<string, string>): ReturnType<typeof parseEnvironment> {
  const savedTmpdir = process.env.TMPDIR;
  delete process.env.TMPDIR;
  try {
    return parseEnvironment(env);
  } finally {
    if (savedTmpdir !== undefined) {
      process.env.TMPDIR = savedTmpdir;
    }
  }
}

describe('Kubernetes manifests', () => {
  describe.each(TOPOLOGIES)('%s (kubectl apply -k %s)', (_name, dir) => {
    let topology: Topology;

    beforeAll(() => {
      topology = new Topology(dir);
    });

    itWithKubectl('renders the same objects as kubectl kustomize', () => {
      const rendered = spawnSync('kubectl', ['kustomize', repoPath(dir)], { encoding: 'utf8' });
      expect(rendered.stderr).toBe('');
      expect(rendered.status).toBe(0);
      const fromKubectl = parseYaml(rendered.stdout) as KubeObject[];
      expect(canonical(fromKubectl)).toEqual(canonical(topology.objects));
    });

    it('sets only variables the service knows, with values that pass its validation', () => {
      const env = topology.environment;
      const unknown = Object.keys(env).filter((name) => !ENVIRONMENT_VARIABLE_NAMES.includes(name));
      expect(unknown).toEqual([]);
      expect(() => parseEnvironment(env)).not.toThrow();
    });

    it('never lets the gateway start an Ollama of its own', () => {
      expect(parseEnvironment(topology.environment).ollama.autoStart).toBe(false);
    });

    it('points every Ollama URL at an Ollama that the manifests run, listening where the URL says', () => {
      const { urls } = parseEnvironment(topology.environment).ollama;
      expect(urls.length).toBeGreaterThan(0);
      for (const href of urls) {
        const url = new URL(href);
        const { container } = topology.ollamaBehind(url);
        const listen = containerEnv(container, 'OLLAMA_HOST');
        if (url.hostname === '127.0.0.1') {
          expect(listen).toBe(`127.0.0.1:${url.port}`);
          // A native sidecar: started before the gateway and stopped after it, so it serves the whole drain.
          expect(topology.pod.initContainers).toContainEqual(expect.objectContaining({ name: container.name }));
          expect(container.restartPolicy).toBe('Always');
        } else {
          expect(listen).toMatch(/^0\.0\.0\.0:\d+$/);
          expect(container.ports?.map((port) => port.containerPort)).toContain(Number(listen?.split(':')[1]));
        }
      }
    });

    it('serves on one port everywhere: PORT, the container port, the probes and the Service', () => {
      const { port } = parseEnvironment(topology.environment).app;
      const gateway = topology.gateway;
      expect(gateway.ports?.map((candidate) => candidate.containerPort)).toEqual([port]);
      for (const probe of [gateway.startupProbe, gateway.readinessProbe, gateway.livenessProbe]) {
        expect(Topology.resolvePort(gateway, probe?.httpGet?.port)).toBe(port);
      }
      const service = findObject<Service>(topology.objects, 'Service', GATEWAY);
      expect(topology.workloadsSelectedBy(service.spec.selector)).toEqual([topology.deployment]);
      expect(service.spec.ports).toHaveLength(1);
      expect(service.spec.ports[0]).toMatchObject({ name: 'http', port: 80 });
      expect(Topology.resolvePort(gateway, service.spec.ports[0].targetPort)).toBe(port);
      const annotations = topology.deployment.spec.template.metadata.annotations ?? {};
      expect(Number(annotations['prometheus.io/port'])).toBe(port);
    });

    it('probes startup and readiness on /health/ready and liveness on /health/live', () => {
      const { startupProbe, readinessProbe, livenessProbe } = topology.gateway;
      expect(startupProbe?.httpGet?.path).toBe('/health/ready');
      expect(readinessProbe?.httpGet?.path).toBe('/health/ready');
      expect(livenessProbe?.httpGet?.path).toBe('/health/live');
    });

    it('gives a starting pod long enough to pull and load its model before anything restarts it', () => {
      const { startupProbe } = topology.gateway;
      const budgetSeconds = (startupProbe?.periodSeconds ?? 10) * (startupProbe?.failureThreshold ?? 3);
      expect(budgetSeconds).toBeGreaterThanOrEqual(MODEL_PULL_SECONDS);
      expect(budgetSeconds * 1000).toBeGreaterThan(parseEnvironment(topology.environment).ollama.loadTimeoutMs);
      // The rollout must not be declared failed while a new pod is still within its startup budget.
      const progressDeadline = (topology.deployment.spec as { progressDeadlineSeconds?: number })
        .progressDeadlineSeconds;
      expect(progressDeadline ?? 600).toBeGreaterThan(budgetSeconds);
    });

    it('gives a terminating pod the time to drain, finish its requests and stop Ollama', () => {
      const { app, ollama } = parseEnvironment(topology.environment);
      expect(app.shutdownDrainDelayMs).toBeGreaterThanOrEqual(5000);
      const neededSeconds = (app.shutdownDrainDelayMs + app.shutdownGracePeriodMs + ollama.stopTimeoutMs) / 1000;
      expect(topology.pod.terminationGracePeriodSeconds).toBeGreaterThan(neededSeconds);
    });

    it('rolls out without dropping below the current capacity, and leaves the replica count to the autoscaler', () => {
      const { spec } = topology.deployment;
      expect(spec.strategy?.type).toBe('RollingUpdate');
      expect(spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
      expect(spec.replicas).toBeUndefined();
    });

    it('runs the gateway as a non-root user on a read-only root filesystem, with a writable pid file directory', () => {
      const gateway = topology.gateway;
      expect(gateway.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      const seccomp = gateway.securityContext?.seccompProfile ?? topology.pod.securityContext?.seccompProfile;
      expect(seccomp?.type).toBe('RuntimeDefault');
      const pidDirectory = dirname(containerConfiguration(topology.environment).ollama.pidFile);
      const mount = gateway.volumeMounts?.find((candidate) => candidate.mountPath === pidDirectory);
      expect(mount).toBeDefined();
      expect(topology.pod.volumes?.find((volume) => volume.name === mount?.name)?.emptyDir).toBeDefined();
      // Otherwise Kubernetes injects OLLAMA_PORT, OLLAMA_SERVICE_HOST... for the `ollama` Service.
      expect(topology.pod.enableServiceLinks).toBe(false);
    });

    it('scales the gateway with an autoscaler and keeps one pod through disruptions', () => {
      const { spec } = topology.autoscaler;
      expect(topology.autoscaler.apiVersion).toBe('autoscaling/v2');
      expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: GATEWAY });
      expect(spec.metrics.map((metric) => metric.resource?.name)).toContain('cpu');
      expect(spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(spec.maxReplicas).toBeGreaterThanOrEqual(spec.minReplicas);
      expect(topology.gateway.resources?.requests?.cpu).toBeDefined();
      const budget = findObject<PodDisruptionBudget>(topology.objects, 'PodDisruptionBudget', GATEWAY);
      expect(topology.workloadsSelectedBy(budget.spec.selector.matchLabels)).toEqual([topology.deployment]);
      expect(budget.spec.minAvailable).toBe(1);
    });

    it('never has more requests in flight to an Ollama than it runs at once, so the excess queues in the gateway', () => {
      // LLM_MAX_CONCURRENCY holds per backend (and model): every gateway replica may fill every backend's slots.
      const { ollama, llm } = parseEnvironment(topology.environment);
      for (const url of ollama.urls) {
        const placement = topology.ollamaBehind(new URL(url));
        const parallel = Number(containerEnv(placement.container, 'OLLAMA_NUM_PARALLEL') ?? 1);
        expect(placement.gatewayReplicas * llm.maxConcurrency).toBeLessThanOrEqual(placement.replicas * parallel);
      }
    });

    it("keeps Ollama's own keep-alive equal to the gateway's", () => {
      const { ollama } = parseEnvironment(topology.environment);
      for (const url of ollama.urls) {
        const { container } = topology.ollamaBehind(new URL(url));
        const ollamaKeepAlive = parseGoDurationMs(containerEnv(container, 'OLLAMA_KEEP_ALIVE') ?? '5m');
        expect(ollamaKeepAlive).toBe(ollama.keepAlive.ms);
      }
    });

    it('keeps the models and key pair on a volume mounted where the Ollama container stores them', () => {
      for (const url of parseEnvironment(topology.environment).ollama.urls) {
        const { container, pod, workload } = topology.ollamaBehind(new URL(url));
        const { data, models } = ollamaDirectories(container, pod);
        const mount = mountOf(container, models);
        expect(mount).toBeDefined();
        expect(mountOf(container, data)).toEqual(mount);
        const claims = (workload?.spec.volumeClaimTemplates ?? []).map((claim) => claim.metadata.name);
        if (workload?.kind === 'StatefulSet') {
          // Each pod's own claim: a restarted pod finds its models and downloads nothing again.
          expect(claims).toContain(mount?.name);
        } else {
          expect((pod.volumes ?? []).map((volume) => volume.name)).toContain(mount?.name);
        }
      }
    });

    it('runs the image that the Dockerfile builds, tagged with the package version', () => {
      // The registry in front of the name may differ (kustomize `images:`); the name and tag may not.
      expect(topology.gateway.image).toMatch(
        new RegExp(`(^|/)local-llm-gateway:${packageVersion().replace(/\./g, '\\.')}$`),
      );
    });
  });

  it('asks for a GPU in the GPU overlays only', () => {
    const gpuLimits = (dir: string): unknown[] =>
      new Topology(dir).objects
        .filter((object): object is Workload => object.kind === 'Deployment' || object.kind === 'StatefulSet')
        .flatMap((workload) => [
          ...workload.spec.template.spec.containers,
          ...(workload.spec.template.spec.initContainers ?? []),
        ])
        .map((container) => container.resources?.limits?.['nvidia.com/gpu'])
        .filter((limit) => limit !== undefined);
    expect(gpuLimits('config/kubernetes/overlays/gpu')).toEqual([1]);
    expect(gpuLimits('config/kubernetes/overlays/ollama-pool')).toEqual([1]);
    expect(gpuLimits('config/kubernetes')).toEqual([]);
    expect(gpuLimits('config/kubernetes/overlays/sidecar')).toEqual([]);
  });
});

import { parseEnvironment } from '../../src/config/environment';
import { PodDisruptionBudget, Service, Workload } from './support/kube-types';
import { findObject } from './support/kustomize';
import { admitted, ollamaWorkloads, policiesSelecting } from './support/network';
import { GATEWAY, Topology, mountOf, ollamaDirectories, selects, statefulSetPodNames } from './support/topology';

const POOL = 'config/kubernetes/overlays/ollama-pool';
const REDIS_IMAGE = /^(docker\.io\/)?(library\/)?(redis|valkey\/valkey)(:|@|$)/;

describe('several Ollama servers (kubectl apply -k config/kubernetes/overlays/ollama-pool)', () => {
  let topology: Topology;
  let statefulSet: Workload;
  let headless: Service;

  beforeAll(() => {
    topology = new Topology(POOL);
    const ollama = ollamaWorkloads(topology);
    expect(ollama.map(({ workload }) => workload.kind)).toEqual(['StatefulSet']);
    statefulSet = ollama[0].workload;
    headless = findObject<Service>(topology.objects, 'Service', statefulSet.spec.serviceName ?? '');
  });

  const config = (): ReturnType<typeof parseEnvironment> => parseEnvironment(topology.environment);

  it('runs two Ollama servers by default, each on a GPU of its own', () => {
    expect(statefulSet.spec.replicas).toBe(2);
    const [container] = ollamaWorkloads(topology).map((entry) => entry.container);
    expect(container.resources?.requests?.['nvidia.com/gpu']).toBe(1);
    expect(container.resources?.limits?.['nvidia.com/gpu']).toBe(1);
  });

  it('gives each server its own model volume, kept across restarts', () => {
    const [{ container }] = ollamaWorkloads(topology);
    const mount = mountOf(container, ollamaDirectories(container, statefulSet.spec.template.spec).models);
    expect(statefulSet.spec.volumeClaimTemplates?.map((claim) => claim.metadata.name)).toContain(mount?.name);
  });

  it('names every server by its stable name through the headless Service in OLLAMA_URLS', () => {
    expect(headless.spec.clusterIP).toBe('None');
    expect(topology.workloadsSelectedBy(headless.spec.selector)).toEqual([statefulSet]);
    // Names resolve while a server is still starting: the gateway, not the endpoints, tracks its readiness.
    expect((headless.spec as { publishNotReadyAddresses?: boolean }).publishNotReadyAddresses).toBe(true);
    const [port] = headless.spec.ports.map((candidate) => candidate.port);
    const expected = statefulSetPodNames(statefulSet).map((pod) => `http://${pod}.${headless.metadata.name}:${port}`);
    expect(expected).toHaveLength(statefulSet.spec.replicas ?? 1);
    expect(topology.environment.OLLAMA_URL).toBeUndefined();
    expect(config().ollama.urls).toEqual(expected);
    for (const url of expected) {
      expect(topology.ollamaBehind(new URL(url)).workload).toBe(statefulSet);
    }
  });

  it('offers no load-balanced Service in front of the servers, which would hide which one answers', () => {
    const services = topology.objects.filter((object): object is Service => object.kind === 'Service');
    const fronting = services.filter((service) =>
      topology.workloadsSelectedBy(service.spec.selector).includes(statefulSet),
    );
    expect(fronting).toEqual([headless]);
  });

  it('never lets the gateway start an Ollama of its own', () => {
    expect(topology.environment.OLLAMA_AUTO_START).toBe('false');
    expect(config().ollama.autoStart).toBe(false);
  });

  it('keeps one server up through voluntary disruptions', () => {
    const budgets = topology.objects
      .filter((object): object is PodDisruptionBudget => object.kind === 'PodDisruptionBudget')
      .filter((budget) => selects(budget.spec.selector, statefulSet.spec.template.metadata.labels));
    expect(budgets).toHaveLength(1);
    expect(topology.workloadsSelectedBy(budgets[0].spec.selector.matchLabels)).toEqual([statefulSet]);
    expect(budgets[0].spec.maxUnavailable).toBe(1);
    expect(statefulSet.spec.replicas).toBeGreaterThan(1);
  });

  it('scales the gateway on CPU from two replicas, and keeps one through disruptions', () => {
    const { spec } = topology.autoscaler;
    expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: GATEWAY });
    expect(spec.metrics.map((metric) => metric.resource?.name)).toEqual(['cpu']);
    expect(spec.minReplicas).toBeGreaterThanOrEqual(2);
    const budget = findObject<PodDisruptionBudget>(topology.objects, 'PodDisruptionBudget', GATEWAY);
    expect(topology.workloadsSelectedBy(budget.spec.selector.matchLabels)).toEqual([topology.deployment]);
  });

  describe('the shared rate limit', () => {
    let redis: Workload;
    let port: number;

    beforeAll(() => {
      const url = new URL(config().security.redisUrl ?? 'redis://unset');
      const service = findObject<Service>(topology.objects, 'Service', url.hostname);
      const servicePort = service.spec.ports.find((candidate) => candidate.port === Number(url.port || 6379));
      expect(servicePort).toBeDefined();
      const selected = topology.workloadsSelectedBy(service.spec.selector);
      expect(selected).toHaveLength(1);
      redis = selected[0];
      const [container] = redis.spec.template.spec.containers;
      expect(container.image).toMatch(REDIS_IMAGE);
      port = Topology.resolvePort(container, servicePort?.targetPort ?? servicePort?.port) ?? 0;
      expect(container.ports?.map((candidate) => candidate.containerPort)).toEqual([port]);
    });

    it('points REDIS_URL at the Redis the manifests run, and turns the limit on', () => {
      expect(port).toBeGreaterThan(0);
      expect(config().security.rateLimitPerMinute).toBeGreaterThan(0);
    });

    it("admits only the gateway's pods to Redis, on its port", () => {
      const policies = policiesSelecting(topology, redis);
      expect(policies).toHaveLength(1);
      expect(policies[0].spec.policyTypes).toContain('Ingress');
      expect(admitted(topology, policies[0])).toEqual([{ from: [topology.deployment], ports: [`TCP/${port}`] }]);
    });
  });
});

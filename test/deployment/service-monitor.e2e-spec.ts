import { rmSync } from 'node:fs';
import { parseEnvironment } from '../../src/config/environment';
import { Service, ServiceMonitor } from './support/kube-types';
import { KubeObject, findObject, renderKustomization, writeKustomization } from './support/kustomize';
import { repoPath } from './support/repository';
import { GATEWAY, SERVICE_MONITOR_COMPONENT, TOPOLOGIES, Topology, selects } from './support/topology';

describe('ServiceMonitor (components/service-monitor)', () => {
  it('is in no topology by itself, so clusters without the Prometheus Operator apply them as they are', () => {
    for (const [, dir] of TOPOLOGIES) {
      const monitoring = new Topology(dir).objects.filter((object) =>
        object.apiVersion.startsWith('monitoring.coreos.com/'),
      );
      expect(monitoring).toEqual([]);
    }
  });

  describe.each(TOPOLOGIES)('added to %s', (_name, dir) => {
    let topology: Topology;
    let objects: KubeObject[];
    let monitor: ServiceMonitor;

    beforeAll(() => {
      topology = new Topology(dir);
      const combined = writeKustomization({
        resources: [repoPath(dir)],
        components: [repoPath(SERVICE_MONITOR_COMPONENT)],
      });
      try {
        objects = renderKustomization(combined);
      } finally {
        rmSync(combined, { recursive: true, force: true });
      }
      monitor = findObject<ServiceMonitor>(objects, 'ServiceMonitor', GATEWAY);
    });

    it('adds the ServiceMonitor and changes nothing else', () => {
      expect(objects.filter((object) => object !== monitor)).toEqual(topology.objects);
    });

    it("selects the gateway's Service and no other, in its own namespace", () => {
      const services = objects.filter((object): object is Service => object.kind === 'Service');
      const selected = services.filter((service) => selects(monitor.spec.selector, service.metadata.labels));
      expect(selected.map((service) => service.metadata.name)).toEqual([GATEWAY]);
      expect(monitor.spec.namespaceSelector).toBeUndefined();
    });

    it('scrapes /metrics on the port the gateway listens on, as the prometheus.io annotations say', () => {
      const service = findObject<Service>(objects, 'Service', GATEWAY);
      expect(monitor.spec.endpoints).toHaveLength(1);
      const [endpoint] = monitor.spec.endpoints;
      const servicePort = service.spec.ports.find((port) => port.name === endpoint.port);
      expect(servicePort).toBeDefined();
      const { port } = parseEnvironment(topology.environment).app;
      expect(Topology.resolvePort(topology.gateway, servicePort?.targetPort ?? servicePort?.port)).toBe(port);
      expect(endpoint.scheme ?? 'http').toBe('http');
      const annotations = topology.deployment.spec.template.metadata.annotations ?? {};
      expect(endpoint.path).toBe('/metrics');
      expect(annotations['prometheus.io/path']).toBe(endpoint.path);
      expect(Number(annotations['prometheus.io/port'])).toBe(port);
    });
  });
});

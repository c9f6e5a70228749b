import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { KubeObject, canonical, findObject, renderKustomization, writeKustomization } from './support/kustomize';
import { parseYaml, repoPath } from './support/repository';
import { schemaProblems } from './support/schema';
import { GATEWAY, SERVICE_MONITOR_COMPONENT, TOPOLOGIES, Topology } from './support/topology';

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const itWithKubectl = kubectl.status === 0 ? it : it.skip;

describe('Kubernetes manifests against the Kubernetes schemas', () => {
  it.each(TOPOLOGIES)('%s: every object is valid, with no unknown field', (_name, dir) => {
    const objects = new Topology(dir).objects;
    expect(objects.map((object) => object.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service']));
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  describe.each(TOPOLOGIES)('%s with the ServiceMonitor component', (_name, dir) => {
    let combined: string;

    beforeAll(() => {
      combined = writeKustomization({ resources: [repoPath(dir)], components: [repoPath(SERVICE_MONITOR_COMPONENT)] });
    });

    afterAll(() => {
      rmSync(combined, { recursive: true, force: true });
    });

    it('renders, and every object is valid', () => {
      const objects = renderKustomization(combined);
      expect(objects.map((object) => object.kind)).toContain('ServiceMonitor');
      expect(objects.flatMap(schemaProblems)).toEqual([]);
    });

    itWithKubectl('renders the same objects as kubectl kustomize', () => {
      const rendered = spawnSync('kubectl', ['kustomize', combined], { encoding: 'utf8' });
      expect(rendered.stderr).toBe('');
      expect(rendered.status).toBe(0);
      expect(canonical(parseYaml(rendered.stdout) as KubeObject[])).toEqual(canonical(renderKustomization(combined)));
    });
  });

  describe('the check itself', () => {
    const deployment = (): KubeObject => findObject(new Topology('config/kubernetes').objects, 'Deployment', GATEWAY);

    it('finds a field the schema does not know', () => {
      const object = deployment();
      const pod = (object.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec;
      pod.containers[0].resurces = {};
      expect(schemaProblems(object)).toEqual([
        'Deployment/local-llm-gateway: unknown field spec.template.spec.containers[0].resurces',
      ]);
    });

    it('finds a value of the wrong type', () => {
      const object = deployment();
      (object.spec as Record<string, unknown>).revisionHistoryLimit = 'five';
      expect(schemaProblems(object)).toEqual([expect.stringContaining('revisionHistoryLimit must be integer')]);
    });

    it('refuses a kind it has no schema for', () => {
      const object = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
      expect(schemaProblems(object)).toEqual(['Widget/w: no schema for example.com/v1 Widget']);
    });
  });
});

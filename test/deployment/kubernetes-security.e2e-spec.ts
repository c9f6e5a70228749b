import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Container, EnvVar, PodSpec } from './support/kube-types';
import { KubeObject } from './support/kustomize';
import { admitted, ollamaWorkloads, policiesSelecting } from './support/network';
import { restrictedViolations } from './support/pod-security';
import { readRepoFile, readYamlDocuments, repoPath } from './support/repository';
import {
  GATEWAY_SECRET,
  OLLAMA_IMAGE,
  TOPOLOGIES,
  Topology,
  containerEnv,
  mountOf,
  ollamaDirectories,
} from './support/topology';

/** Every YAML file under config/kubernetes, relative to the repository root. */
function manifestFiles(dir = repoPath('config', 'kubernetes')): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      return manifestFiles(path);
    }
    return /\.ya?ml$/.test(entry) ? [relative(repoPath(), path)] : [];
  });
}

/** Every environment variable that any container of any shipped document sets, with its document. */
function shippedEnv(): { file: string; variable: EnvVar }[] {
  return manifestFiles().flatMap((file) =>
    (readYamlDocuments(repoPath(file)) as KubeObject[]).flatMap((document) => {
      const pod = (document.spec as { template?: { spec?: Partial<PodSpec> } } | undefined)?.template?.spec;
      const containers: Container[] = [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])];
      return containers.flatMap((container) => (container.env ?? []).map((variable) => ({ file, variable })));
    }),
  );
}

/** Each Ollama container with the pod it runs in: its own pods, or a sidecar in the gateway's. */
function ollamaContainers(topology: Topology): { container: Container; pod: PodSpec }[] {
  return topology.workloads.flatMap((workload) => {
    const pod = workload.spec.template.spec;
    return [...pod.containers, ...(pod.initContainers ?? [])]
      .filter((container) => OLLAMA_IMAGE.test(container.image))
      .map((container) => ({ container, pod }));
  });
}

describe('Kubernetes manifests: safe as shipped', () => {
  it('ship no Secret, no API key and no placeholder for one', () => {
    const files = manifestFiles();
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const documents = readYamlDocuments(repoPath(file)) as KubeObject[];
      expect(documents.filter((document) => document.kind === 'Secret').map(() => file)).toEqual([]);
      const text = readRepoFile(file);
      expect({ file, placeholder: /replace-?me|change-?me|changeit|<your[^>]*key>/i.exec(text)?.[0] }).toEqual({
        file,
        placeholder: undefined,
      });
      for (const document of documents.filter((candidate) => candidate.kind === 'ConfigMap')) {
        expect(Object.keys((document.data as object | undefined) ?? {})).not.toContain('API_KEYS');
      }
    }
    const literalKeys = shippedEnv().filter(({ variable }) => variable.name === 'API_KEYS' && !variable.valueFrom);
    expect(literalKeys).toEqual([]);
  });

  describe.each(TOPOLOGIES)('%s (kubectl apply -k %s)', (_name, dir) => {
    let topology: Topology;

    beforeAll(() => {
      topology = new Topology(dir);
    });

    it('reads API_KEYS from the Secret the operator creates, and does not start without it', () => {
      const variable = topology.gateway.env?.find((candidate) => candidate.name === 'API_KEYS');
      expect(variable?.valueFrom?.secretKeyRef).toEqual({ name: GATEWAY_SECRET, key: 'API_KEYS' });
      expect(topology.objects.filter((object) => object.kind === 'Secret')).toEqual([]);
      expect(topology.environment.API_KEYS).toMatch(/^[0-9a-f]{64}$/);
      // As the kubelet would: no Secret (or no key in it), no container (CreateContainerConfigError).
      expect(() => new Topology(dir, {}).environment).toThrow(GATEWAY_SECRET);
      expect(() => new Topology(dir, { [GATEWAY_SECRET]: { OTHER: 'x' } }).environment).toThrow('API_KEYS');
    });

    it('admits every pod to a namespace enforcing the restricted Pod Security level', () => {
      const violations = topology.workloads.flatMap((workload) =>
        restrictedViolations(workload.spec.template.spec).map((violation) => `${workload.metadata.name}: ${violation}`),
      );
      expect(violations).toEqual([]);
    });

    it('runs the gateway with the restricted fields set on its own container and a read-only root', () => {
      const context = topology.gateway.securityContext;
      expect(context).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(context?.capabilities?.add).toBeUndefined();
      expect(topology.pod.automountServiceAccountToken).toBe(false);
    });

    it('runs Ollama as a non-root user that can write only its HOME and its models', () => {
      const containers = ollamaContainers(topology);
      expect(containers.length).toBeGreaterThan(0);
      for (const { container, pod } of containers) {
        const context = container.securityContext;
        expect(context).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(context?.runAsUser ?? pod.securityContext?.runAsUser).toBeGreaterThan(0);
        // Volumes belong to this group, so the non-root user may write the model volume and HOME.
        expect(pod.securityContext?.fsGroup).toBeGreaterThan(0);
        const home = containerEnv(container, 'HOME') ?? '';
        const homeMount = mountOf(container, home);
        expect(homeMount?.mountPath).toBe(home);
        expect(pod.volumes?.find((volume) => volume.name === homeMount?.name)?.emptyDir).toBeDefined();
        const { data, models } = ollamaDirectories(container, pod);
        expect(mountOf(container, data)?.mountPath).toBe(data);
        expect(mountOf(container, models)).toEqual(mountOf(container, data));
        expect(container.volumeMounts?.filter((mount) => mount.readOnly)).toEqual([]);
      }
    });

    it("admits only the gateway's pods to each Ollama pod, and only on Ollama's port", () => {
      const workloads = ollamaWorkloads(topology);
      if (workloads.length === 0) {
        // No Ollama pods of their own: a sidecar, which listens on its pod's loopback only.
        const sidecars = ollamaContainers(topology);
        expect(sidecars.map(({ container }) => containerEnv(container, 'OLLAMA_HOST'))).toEqual(['127.0.0.1:11434']);
      }
      for (const { workload, container } of workloads) {
        const policies = policiesSelecting(topology, workload);
        expect(policies).toHaveLength(1);
        expect(policies[0].spec.policyTypes).toContain('Ingress');
        const port = Number(containerEnv(container, 'OLLAMA_HOST')?.split(':')[1]);
        expect(container.ports?.map((candidate) => candidate.containerPort)).toEqual([port]);
        expect(admitted(topology, policies[0])).toEqual([{ from: [topology.deployment], ports: [`TCP/${port}`] }]);
      }
    });
  });
});

import { existsSync } from 'node:fs';
import { packageVersion, readRepoFile, repoPath } from './support/repository';
import { GATEWAY_SECRET, TOPOLOGIES, Topology } from './support/topology';

/** The shell commands of the guide's code blocks, one per line, comments removed. */
function commands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]);
  return blocks
    .flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '');
}

describe('docs/deployment.md', () => {
  const guide = readRepoFile('docs', 'deployment.md');
  const lines = commands(guide);

  it('applies and renders only kustomizations that exist', () => {
    const dirs = lines.flatMap((line) => [...line.matchAll(/kubectl (?:apply -k|kustomize) (\S+)/g)].map((m) => m[1]));
    expect(dirs).toEqual(expect.arrayContaining(TOPOLOGIES.map(([, dir]) => dir)));
    for (const dir of dirs) {
      expect(existsSync(repoPath(dir, 'kustomization.yaml'))).toBe(true);
    }
  });

  it('names the objects, containers and image that the manifests define', () => {
    const topology = new Topology('config/kubernetes');
    const names = new Set(
      TOPOLOGIES.flatMap(([, dir]) => new Topology(dir).objects).map(
        (object) => `${object.kind.toLowerCase()}/${object.metadata.name}`,
      ),
    );
    const referenced = lines.flatMap((line) =>
      [...line.matchAll(/\b(deployment|statefulset|service)\/([a-z0-9-]+)/g)].map((m) => `${m[1]}/${m[2]}`),
    );
    expect(referenced.length).toBeGreaterThan(0);
    expect(referenced.filter((name) => !names.has(name))).toEqual([]);
    expect(guide).toContain(`gateway=<image>:<tag>`);
    expect(topology.gateway.name).toBe('gateway');
    const tags = [...guide.matchAll(/local-llm-gateway:(\d[\w.-]*)/g)].map((m) => m[1]);
    expect(tags.length).toBeGreaterThan(0);
    expect(new Set(tags)).toEqual(new Set([packageVersion()]));
  });

  it('execs into the pod that the Ollama StatefulSet creates', () => {
    const topology = new Topology('config/kubernetes');
    const statefulSet = topology.objects.find((object) => object.kind === 'StatefulSet');
    for (const line of lines.filter((command) => command.includes(' exec '))) {
      expect(line).toContain(`exec ${statefulSet?.metadata.name}-0 `);
    }
  });

  it('creates the Secret that the gateway reads API_KEYS from, with a long random key', () => {
    const creates = lines
      .map((line) =>
        /kubectl .*create secret generic (\S+) --from-literal=(\w+)="\$\(openssl rand -hex (\d+)\)"$/.exec(line),
      )
      .filter((match) => match !== null);
    expect(creates).toHaveLength(1);
    const [, name, key, bytes] = creates[0] ?? [];
    for (const [, dir] of TOPOLOGIES) {
      const variable = new Topology(dir).gateway.env?.find((candidate) => candidate.name === 'API_KEYS');
      expect(variable?.valueFrom?.secretKeyRef).toEqual({ name, key });
    }
    expect(name).toBe(GATEWAY_SECRET);
    // Two hex digits per byte: as long as the operatorSecrets() the other tests use.
    expect(Number(bytes)).toBe(32);
  });

  it('uses the compose services that compose.yaml defines', () => {
    const compose = readRepoFile('compose.yaml');
    const services = lines.flatMap((line) =>
      [...line.matchAll(/docker compose (?:logs -f|exec) (\S+)/g)].map((m) => m[1]),
    );
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      expect(compose).toMatch(new RegExp(`^  ${service}:$`, 'm'));
    }
  });
});

import { readdirSync } from 'node:fs';
import { RunningApp, startApp } from '../support/app';
import { instructions, parseDockerfile, parseHealthcheck } from './support/dockerfile';
import { freePort, runCommand } from './support/processes';
import { ServiceMonitor } from './support/kube-types';
import { KubeObject } from './support/kustomize';
import { readRepoFile, readYamlDocuments, repoPath } from './support/repository';
import { SERVICE_MONITOR_COMPONENT, TOPOLOGIES, Topology } from './support/topology';

/** Every HTTP path that Kubernetes probes or scrapes on the gateway, across all topologies and the ServiceMonitor. */
function kubernetesPaths(): string[] {
  const paths = TOPOLOGIES.flatMap(([, dir]) => {
    const topology = new Topology(dir);
    const { startupProbe, readinessProbe, livenessProbe } = topology.gateway;
    return [
      startupProbe?.httpGet?.path,
      readinessProbe?.httpGet?.path,
      livenessProbe?.httpGet?.path,
      topology.deployment.spec.template.metadata.annotations?.['prometheus.io/path'],
    ];
  });
  const monitors = readdirSync(repoPath(SERVICE_MONITOR_COMPONENT))
    .filter((file) => file !== 'kustomization.yaml')
    .flatMap((file) => readYamlDocuments(repoPath(SERVICE_MONITOR_COMPONENT, file)) as KubeObject[])
    .filter((object): object is ServiceMonitor => object.kind === 'ServiceMonitor');
  if (monitors.length === 0) {
    throw new Error(`${SERVICE_MONITOR_COMPONENT} holds no ServiceMonitor`);
  }
  paths.push(...monitors.flatMap((monitor) => monitor.spec.endpoints.map((endpoint) => endpoint.path)));
  return [...new Set(paths.filter((path): path is string => path !== undefined))].sort();
}

function imageHealthcheck(): string[] {
  const { stages } = parseDockerfile(readRepoFile('Dockerfile'));
  const [args] = instructions(stages[stages.length - 1], 'HEALTHCHECK');
  return parseHealthcheck(args).command;
}

describe('probes against the running service', () => {
  let running: RunningApp;

  beforeAll(async () => {
    // Nothing listens on port 9: the service runs without an Ollama, as a pod does before Ollama is up.
    running = await startApp({ OLLAMA_AUTO_START: 'false', OLLAMA_URL: 'http://127.0.0.1:9' });
  });

  afterAll(async () => {
    await running?.close();
  });

  it('probes and scrapes the paths the manifests name', () => {
    expect(kubernetesPaths()).toEqual(['/health/live', '/health/ready', '/metrics']);
  });

  it.each(kubernetesPaths())('answers %s, which the manifests probe', async (path) => {
    const response = await fetch(`${running.url}${path}`);
    expect(response.status).not.toBe(404);
    expect([200, 503]).toContain(response.status);
  });

  it('passes liveness without an Ollama, so Kubernetes never restarts it for want of one', async () => {
    expect((await fetch(`${running.url}/health/live`)).status).toBe(200);
  });

  it("passes the image's HEALTHCHECK command", async () => {
    const [program, ...args] = imageHealthcheck();
    expect(program).toBe('node');
    const port = new URL(running.url).port;
    const result = await runCommand(process.execPath, args, {
      env: { PATH: process.env.PATH, PORT: port },
      timeoutMs: 30_000,
    });
    expect(result).toMatchObject({ code: 0 });
  });

  it("fails the image's HEALTHCHECK command when nothing answers", async () => {
    const [, ...args] = imageHealthcheck();
    const result = await runCommand(process.execPath, args, {
      env: { PATH: process.env.PATH, PORT: String(await freePort()) },
      timeoutMs: 30_000,
    });
    expect(result).toMatchObject({ code: 1 });
  });
});

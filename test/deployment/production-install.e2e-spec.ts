import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envPairs, execForm, instructions, parseDockerfile, parseHealthcheck, runCommand } from './support/dockerfile';
import { DockerIgnore } from './support/dockerignore';
import { ConfigMap } from './support/kube-types';
import { findObject } from './support/kustomize';
import { exited, freePort, killGroup, runCommand as run, waitFor } from './support/processes';
import { ROOT, readRepoFile } from './support/repository';
import { Topology } from './support/topology';

const INSTALL_TIMEOUT_MS = 5 * 60_000;

/**
 * This environment without the `npm_*` variables that an outer `npm test` sets (its prefix among them), so
 * the npm commands below work on their own directory only, as in a Docker build.
 */
function withoutNpmSettings(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

/**
 * The image without Docker: the build context is what .dockerignore lets through, the build stage's command
 * compiles it, the production-dependencies stage's `npm ci` installs into a directory of its own, and the
 * runtime directory is assembled as the runtime stage copies it. Then the image's command runs there.
 */
describe('the production image, built and run without Docker', () => {
  const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
  const runtimeStage = dockerfile.stages[dockerfile.stages.length - 1];
  const topology = new Topology('config/kubernetes');
  let work: string;
  let context: string;
  let image: string;
  let service: ChildProcess | undefined;
  let output = '';

  /** Runs the first `npm ...` command of a stage's RUN instructions that matches, in `cwd`. */
  async function runStageCommand(stageName: string, pattern: RegExp, cwd: string, extra: string[] = []): Promise<void> {
    const stage = dockerfile.stages.find((candidate) => candidate.name === stageName);
    const command =
      stage &&
      instructions(stage, 'RUN')
        .map(runCommand)
        .find((line) => pattern.test(line));
    if (!command) {
      throw new Error(`the ${stageName} stage has no RUN matching ${pattern}`);
    }
    const [program, ...args] = command.split(/\s+/);
    const result = await run(program, [...args, ...extra], {
      cwd,
      env: withoutNpmSettings(),
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
    if (result.code !== 0) {
      throw new Error(`${command} failed (${result.code ?? result.signal}):\n${result.output}`);
    }
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'llm-gateway-image-'));
    context = join(work, 'context');
    image = join(work, 'app');
    mkdirSync(image);
    mkdirSync(join(work, 'tmp'));

    const ignore = new DockerIgnore(readRepoFile('.dockerignore'));
    cpSync(ROOT, context, {
      recursive: true,
      filter: (source) => source === ROOT || !ignore.excludes(source.slice(ROOT.length + 1)),
    });
    // The build stage installs every dependency; the repository's own are the same ones, already there.
    symlinkSync(join(ROOT, 'node_modules'), join(context, 'node_modules'), 'dir');
    await runStageCommand('build', /^npm run build$/, context);

    cpSync(join(ROOT, 'package.json'), join(image, 'package.json'));
    cpSync(join(ROOT, 'package-lock.json'), join(image, 'package-lock.json'));
    await runStageCommand('production-dependencies', /^npm ci /, image, ['--prefer-offline']);
    cpSync(join(context, 'dist'), join(image, 'dist'), { recursive: true });
  }, 2 * INSTALL_TIMEOUT_MS);

  afterAll(() => {
    killGroup(service);
    if (work) {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('compiles the build context to the file the command runs', () => {
    const [, script] = execForm(instructions(runtimeStage, 'CMD')[0]) ?? [];
    expect(existsSync(join(image, script))).toBe(true);
  });

  it('installs the production dependencies and none of the development ones', () => {
    const installed = readdirSync(join(image, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['@nestjs', 'fastify', 'pino']));
    for (const devOnly of ['typescript', 'jest', '@swc', 'eslint', 'prettier']) {
      expect(installed).not.toContain(devOnly);
    }
  });

  it('starts with the Kubernetes configuration, passes its health check, and exits 0 on SIGTERM in time', async () => {
    const port = await freePort();
    const [program, ...args] = execForm(instructions(runtimeStage, 'CMD')[0]) ?? [];
    expect(program).toBe('node');
    const imageEnv = Object.assign({}, ...instructions(runtimeStage, 'ENV').map(envPairs)) as Record<string, string>;
    const configMap = findObject<ConfigMap>(topology.objects, 'ConfigMap', 'local-llm-gateway-config');
    service = spawn(process.execPath, args, {
      cwd: image,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: work,
        TMPDIR: join(work, 'tmp'),
        ...imageEnv,
        ...configMap.data,
        // Loopback only, and nothing listens on port 9: the pod's view before its Ollama answers.
        PORT: String(port),
        HOST: '127.0.0.1',
        OLLAMA_URL: 'http://127.0.0.1:9',
      },
    });
    service.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    service.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const running = service;

    const live = await waitFor('/health/live', 60_000, async () => {
      if (running.exitCode !== null) {
        throw new Error(`the service exited with ${running.exitCode}:\n${output}`);
      }
      const response = await fetch(`http://127.0.0.1:${port}/health/live`);
      return response.status;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${output}`);
    });
    expect(live).toBe(200);

    const [, ...checkArgs] = parseHealthcheck(instructions(runtimeStage, 'HEALTHCHECK')[0]).command;
    const check = await run(process.execPath, checkArgs, { env: { PORT: String(port) }, timeoutMs: 30_000 });
    expect(check.code).toBe(0);

    // LOG_FORMAT=json: every line the service wrote is one JSON object.
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(() => JSON.parse(line) as unknown).not.toThrow();
    }

    running.kill('SIGTERM');
    const graceMs = (topology.pod.terminationGracePeriodSeconds ?? 30) * 1000;
    const result = await Promise.race([
      exited(running),
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), graceMs).unref()),
    ]);
    expect(result).toEqual({ code: 0, signal: null });
  }, 120_000);
});

import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseEnvironment } from '../../src/config/environment';
import {
  Dockerfile,
  Stage,
  envPairs,
  execForm,
  instructions,
  parseDockerfile,
  parseHealthcheck,
  runCommand,
} from './support/dockerfile';
import { DockerIgnore } from './support/dockerignore';
import { ROOT, readRepoFile } from './support/repository';

interface Copy {
  from?: string;
  sources: string[];
  destination: string;
}

function copies(stage: Stage): Copy[] {
  return instructions(stage, 'COPY').map((args) => {
    const words = args.split(/\s+/);
    const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((word) => !word.startsWith('--'));
    return { from, sources: paths.slice(0, -1), destination: paths[paths.length - 1] };
  });
}

function stageNamed(dockerfile: Dockerfile, name: string | undefined): Stage {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name);
  if (!stage) {
    throw new Error(`no stage named ${name}`);
  }
  return stage;
}

function filesUnder(relativePath: string): string[] {
  const absolute = join(ROOT, relativePath);
  const entries = readdirSync(absolute, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

describe('Dockerfile', () => {
  const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
  const runtime = dockerfile.stages[dockerfile.stages.length - 1];

  it('builds in stages, so compilers and dev dependencies stay out of the runtime image', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile.stages.find((stage) =>
      instructions(stage, 'RUN').some((run) => /npm run build/.test(run)),
    );
    expect(build).toBeDefined();
    expect(build).not.toBe(runtime);
    const buildInstall = instructions(build as Stage, 'RUN')
      .map(runCommand)
      .find((run) => run.startsWith('npm ci'));
    expect(buildInstall).toBeDefined();
    expect(buildInstall).not.toContain('--omit=dev');
    expect(instructions(runtime, 'RUN')).toEqual([]);
  });

  it('starts from a slim Debian image of a Node.js LTS line that package.json allows', () => {
    const engines = (JSON.parse(readRepoFile('package.json')) as { engines: { node: string } }).engines.node;
    const [, minimumMajor] = /^>=\s*(\d+)/.exec(engines) ?? [];
    for (const stage of dockerfile.stages) {
      const [, major] = /^node:(\d+)-bookworm-slim$/.exec(stage.image) ?? [];
      expect(major).toBeDefined();
      // Even majors are the LTS lines.
      expect(Number(major) % 2).toBe(0);
      expect(Number(major)).toBeGreaterThan(Number(minimumMajor));
    }
  });

  it('gives the runtime production dependencies only, and the compiled service where its command expects it', () => {
    const runtimeCopies = copies(runtime);
    const modules = runtimeCopies.find((copy) => copy.destination.replace(/\/$/, '').endsWith('node_modules'));
    const install = instructions(stageNamed(dockerfile, modules?.from), 'RUN').map(runCommand);
    expect(install).toEqual([expect.stringMatching(/^npm ci .*--omit=dev/)]);

    const compiled = runtimeCopies.find((copy) => copy.from !== undefined && copy.sources[0].endsWith('/dist'));
    expect(compiled?.destination).toBe('./dist');
    const buildConfig = JSON.parse(readRepoFile('tsconfig.build.json')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    // src/main.ts compiles to <outDir>/main.js, which the command runs from the working directory.
    expect(buildConfig.compilerOptions.rootDir.replace(/^\.\//, '')).toBe('src');
    expect(buildConfig.compilerOptions.outDir.replace(/^\.\//, '')).toBe('dist');
    expect(instructions(runtime, 'WORKDIR')).toEqual(['/app']);
    expect(runtimeCopies.map((copy) => copy.sources)).toContainEqual(['package.json']);
  });

  it('runs node itself in exec form, so the stop signal reaches the service', () => {
    const [cmd] = instructions(runtime, 'CMD');
    expect(execForm(cmd)).toEqual(['node', 'dist/main.js']);
    expect(instructions(runtime, 'ENTRYPOINT')).toEqual([]);
    expect(instructions(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM']);
  });

  it("runs as the non-root node user, in production mode, with glibc's allocator set to give memory back", () => {
    expect(instructions(runtime, 'USER').pop()).toBe('node');
    const env = Object.assign({}, ...instructions(runtime, 'ENV').map(envPairs)) as Record<string, string>;
    expect(env.NODE_ENV).toBe('production');
    expect(env).toMatchObject({ MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '65536' });
  });

  it("exposes the service's default port", () => {
    expect(instructions(runtime, 'EXPOSE')).toEqual([String(parseEnvironment({}).app.port)]);
  });

  it('checks liveness with node on /health/live, never readiness', () => {
    const [args] = instructions(runtime, 'HEALTHCHECK');
    const { command } = parseHealthcheck(args);
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain('/health/live');
    expect(command[2]).not.toContain('/health/ready');
    // The port the service listens on when PORT is not set.
    expect(command[2]).toContain(`process.env.PORT||${parseEnvironment({}).app.port})`);
  });
});

describe('.dockerignore', () => {
  const ignore = new DockerIgnore(readRepoFile('.dockerignore'));
  const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));

  it('sends the builder every file the Dockerfile copies from the build context', () => {
    const sources = dockerfile.stages
      .flatMap(copies)
      .filter((copy) => copy.from === undefined)
      .flatMap((copy) => copy.sources);
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src']));
    for (const source of sources) {
      const files = source === 'src' ? filesUnder('src').filter((file) => !file.endsWith('.spec.ts')) : [source];
      expect(files.filter((file) => ignore.excludes(file))).toEqual([]);
    }
    expect(ignore.excludes('src/main.ts')).toBe(false);
  });

  it.each([
    '.env',
    '.git/HEAD',
    'node_modules/@nestjs/core/package.json',
    'dist/main.js',
    'coverage/lcov.info',
    'test/app.e2e-spec.ts',
    'src/config/environment.spec.ts',
    'docs/deployment.md',
    'config/kubernetes/kustomization.yaml',
    'compose.yaml',
  ])('keeps %s out of the build context', (path) => {
    expect(ignore.excludes(path)).toBe(true);
  });
});

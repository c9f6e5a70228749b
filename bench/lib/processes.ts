/**
 * The processes a benchmark runs: the emulator and the service, each in its own process group, so
 * that the load generator, the emulator and the service never share an event loop and a stop takes
 * the whole group with it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { EmulatorOptions } from '../../test/emulator/ollama-emulator';
import { waitForStatus200 } from './http';

export const REPO_ROOT = resolve(__dirname, '..', '..');
const REGISTER_TS = join(REPO_ROOT, 'test', 'support', 'register-ts.js');

const EMULATOR_START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** Children still running; `stopAll` ends them when the benchmark ends or is interrupted. */
export class ProcessGroup {
  private readonly children = new Set<ManagedProcess>();

  add<T extends ManagedProcess>(child: T): T {
    this.children.add(child);
    child.exited.finally(() => this.children.delete(child)).catch(() => undefined);
    return child;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((child) => child.stop()));
  }
}

/** A child in its own process group: SIGTERM to the group, SIGKILL after a grace period. */
export class ManagedProcess {
  readonly exited: Promise<number | null>;
  /** `performance.now()` just after the spawn. */
  readonly startedAt = performance.now();
  private running = true;

  constructor(
    readonly name: string,
    protected readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.running = false;
        resolveExit(code ?? (signal === null ? null : 128));
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) {
      throw new Error(`${this.name} has no pid: it failed to spawn`);
    }
    return this.child.pid;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Resident set size in MiB, from `/proc/<pid>/status` (`VmRSS`). */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (match?.[1] === undefined) {
      throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    }
    return Number(match[1]) / 1024;
  }

  /**
   * CPU time the process has used so far, in milliseconds: the sum over its threads of the time on a
   * CPU (`/proc/<pid>/task/<tid>/schedstat`, nanoseconds). Unlike latency it hardly depends on what
   * else runs on the machine, so it shows a cost even when the machine is busy.
   */
  cpuMs(): number {
    const tasks = `/proc/${this.pid}/task`;
    let ns = 0;
    for (const tid of readdirSync(tasks)) {
      try {
        ns += Number(readFileSync(`${tasks}/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended meanwhile.
      }
    }
    return ns / 1e6;
  }

  /** SIGTERM to the group, SIGKILL if it is still there after the grace period. Safe to call twice. */
  async stop(): Promise<number | null> {
    if (this.running) {
      this.signalGroup('SIGTERM');
      const timer = setTimeout(() => this.signalGroup('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exited;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

export class EmulatorProcess extends ManagedProcess {
  constructor(
    child: ChildProcess,
    readonly url: string,
  ) {
    super('emulator', child);
  }

  /** `POST /__emulator/configure`: changes the emulator's options at run time. */
  async configure(options: Partial<EmulatorOptions>): Promise<void> {
    await this.control('POST', 'configure', options);
  }

  async stats(): Promise<{
    requests: Record<string, number>;
    loads: number;
    lastRequests: Array<{ endpoint: string; body: unknown }>;
  }> {
    return (await this.control('GET', 'stats')) as Awaited<ReturnType<EmulatorProcess['stats']>>;
  }

  async resetStats(): Promise<void> {
    await this.control('POST', 'reset-stats');
  }

  private async control(method: string, action: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.url}/__emulator/${action}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer: unknown = await response.json();
    if (!response.ok) {
      throw new Error(`emulator ${method} ${action} answered ${response.status}: ${JSON.stringify(answer)}`);
    }
    return answer;
  }
}

/** Starts `bench/emulator-server.ts` in its own process and waits for its URL. */
export async function startEmulator(group: ProcessGroup, options: Partial<EmulatorOptions>): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    ['--require', REGISTER_TS, join(REPO_ROOT, 'bench', 'emulator-server.ts'), JSON.stringify(options)],
    { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('the emulator did not start in time')), EMULATOR_START_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`the emulator exited with code ${String(code)} before listening`)));
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolveUrl((JSON.parse(line) as { url: string }).url);
    });
  });
  return group.add(new EmulatorProcess(child, url));
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface BuiltService {
  /** The compiled entry point, `<dir>/main.js`. */
  mainJs: string;
  /** Where the service's output (stdout and stderr) is written. */
  logFile: string;
}

/**
 * Makes `link` lead to `target`. A link left by an earlier build may lead to another tree's packages, or
 * to a tree since deleted: it is replaced. A real directory there is left as it is.
 */
function linkNodeModules(target: string, link: string): void {
  let current: string | undefined;
  try {
    current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : link;
  } catch {
    current = undefined;
  }
  if (current === link || current === target) {
    return;
  }
  rmSync(link, { force: true });
  symlinkSync(target, link, 'dir');
}

/**
 * Compiles `<repo>/src` with `tsconfig.build.json` into `<workDir>/dist` (never the shared `dist/`), and
 * links `<workDir>/node_modules` to the repository's, so the compiled code resolves its packages.
 * Type errors are printed but do not stop the build: tsc still emits, as `npm run build` would.
 */
export function buildService(repo: string, workDir: string): BuiltService {
  const outDir = join(workDir, 'dist');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  linkNodeModules(join(repo, 'node_modules'), join(workDir, 'node_modules'));
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: repo,
    encoding: 'utf8',
  });
  const mainJs = join(outDir, 'main.js');
  if (result.status !== 0) {
    process.stderr.write(`tsc reported errors (the build is used anyway):\n${result.stdout}${result.stderr}\n`);
  }
  if (!existsSync(mainJs)) {
    throw new Error(`the build produced no ${mainJs}`);
  }
  return { mainJs, logFile: join(workDir, 'service.log') };
}

export class ServiceProcess extends ManagedProcess {
  constructor(
    child: ChildProcess,
    readonly url: string,
  ) {
    super('service', child);
  }
}

export interface ServiceStart {
  built: BuiltService;
  ollamaUrl: string;
  /** Extra environment, laid over the benchmark defaults. */
  env?: Record<string, string>;
  /** Node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Working directory of the service (where `--cpu-prof` writes). */
  cwd: string;
}

/**
 * Inference limits high enough that a benchmark measures the service's overhead, never its load
 * shedding; auth and rate limits off, access logs at warn so that they cost what they cost in a quiet
 * production deployment; glibc's allocator set as the image sets it (`Dockerfile`).
 */
export const BENCH_SERVICE_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '65536',
  HOST: '127.0.0.1',
  OLLAMA_AUTO_START: 'false',
  OLLAMA_AUTO_PULL: 'false',
  LLM_MAX_CONCURRENCY: '64',
  LLM_MAX_QUEUE: '1024',
  LOG_LEVEL: 'warn',
  API_KEYS: '',
  RATE_LIMIT_PER_MINUTE: '0',
};

/** Runs the built service (`node <dir>/main.js`) in its own process group and waits until it listens. */
export async function startService(group: ProcessGroup, start: ServiceStart): Promise<ServiceProcess> {
  const port = await freePort();
  const log = createWriteStream(start.built.logFile, { flags: 'a' });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...BENCH_SERVICE_ENV,
    PORT: String(port),
    OLLAMA_URL: start.ollamaUrl,
    ...start.env,
  };
  const child = spawn(process.execPath, [...(start.nodeArgs ?? []), start.built.mainJs], {
    cwd: start.cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const service = group.add(new ServiceProcess(child, `http://127.0.0.1:${port}`));
  await waitForStatus200(`${service.url}/health/live`, 60_000, () => service.isRunning);
  return service;
}

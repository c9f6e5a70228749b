/** The emulator plus a freshly built service in front of it, as both benchmarks start them. */
import { mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatorOptions } from '../../test/emulator/ollama-emulator';
import {
  buildService,
  startEmulator,
  startService,
  type BuiltService,
  type EmulatorProcess,
  type ProcessGroup,
  type ServiceProcess,
} from './processes';
import { ProcessGroup as Group } from './processes';
import { LoadSampler, waitForQuiet } from './machine';
import { print } from './results';

export interface StackOptions {
  /** The repository whose `src/` is built (another worktree, to measure a change). */
  repo: string;
  /** Holds the build, the service's log and CPU profiles. */
  workDir: string;
  emulator: Partial<EmulatorOptions>;
  serviceEnv?: Record<string, string>;
  nodeArgs?: string[];
}

export interface Stack {
  emulator: EmulatorProcess;
  service: ServiceProcess;
  built: BuiltService;
}

export function defaultWorkDir(): string {
  return join(tmpdir(), 'llm-gateway-bench');
}

/** Builds the service, starts the emulator, then the service; resolves once the service listens. */
export async function startStack(group: ProcessGroup, options: StackOptions): Promise<Stack> {
  const built = buildService(options.repo, options.workDir);
  const emulator = await startEmulator(group, options.emulator);
  const service = await startService(group, {
    built,
    ollamaUrl: emulator.url,
    env: options.serviceEnv,
    nodeArgs: options.nodeArgs,
    cwd: options.workDir,
  });
  return { emulator, service, built };
}

/** Stops every process when the benchmark is interrupted, then exits with the signal's code. */
export function stopOnSignal(group: ProcessGroup): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    void group.stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

export interface RunStart {
  /** Whether the machine was quiet before measuring; `undefined` when nobody waited. */
  quiet: boolean | undefined;
  loadSampler: LoadSampler;
  group: Group;
  /** Where `--cpu-prof` writes (created when profiling). */
  profileDir: string;
}

/**
 * The start every benchmark run shares: waits (up to `waitQuietSeconds`) for a quiet machine, samples
 * the load average from then on, and holds the processes it starts in one group, stopped on a signal.
 */
export async function beginRun(settings: {
  waitQuietSeconds: number;
  workDir: string;
  cpuProf: boolean;
}): Promise<RunStart> {
  let quiet: boolean | undefined;
  if (settings.waitQuietSeconds > 0) {
    print(`waiting up to ${settings.waitQuietSeconds} s for the load average to stay below 1 for 60 s ...`);
    quiet = await waitForQuiet(1, 60, settings.waitQuietSeconds);
    print(quiet ? 'quiet' : `still busy (load ${loadavg()[0]?.toFixed(2)}); measuring anyway`);
  }
  const loadSampler = new LoadSampler();
  loadSampler.start();
  const group = new Group();
  stopOnSignal(group);
  const profileDir = join(settings.workDir, 'profiles');
  if (settings.cpuProf) {
    mkdirSync(profileDir, { recursive: true });
  }
  return { quiet, loadSampler, group, profileDir };
}

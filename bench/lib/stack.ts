/** The emulator plus a freshly built service in front of it, as both benchmarks start them. */
import { tmpdir } from 'node:os';
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

import { sleep } from '../common/abortable-sleep';
import { errorText } from '../common/errors';
import type { KeepAlive } from '../config/duration';
import { ollamaHostFor } from './ollama-host';
import { OllamaOutput } from './ollama-output';
import type { OllamaProbe } from './ollama-probe';
import type { ProcessExit, ProcessRunner, SpawnedProcess } from './process-runner';

/** While a started server has not answered yet, how often it is asked. */
const STARTUP_POLL_INTERVAL_MS = 250;

/** How the wait for a started server's first answer ended. */
export type StartOutcome =
  { kind: 'up'; version: string } | { kind: 'exited'; exit: ProcessExit } | { kind: 'timeout' } | { kind: 'aborted' };

export interface LaunchSettings {
  /** `OLLAMA_BIN`. */
  readonly bin: string;
  /** Where the server must listen; becomes its `OLLAMA_HOST`. */
  readonly url: URL;
  /** Becomes its `OLLAMA_KEEP_ALIVE`. */
  readonly keepAlive: KeepAlive;
  /** `OLLAMA_STARTUP_TIMEOUT`: how long its first answer may take. */
  readonly startupTimeoutMs: number;
}

/**
 * Starts one `$OLLAMA_BIN serve` for one URL and waits for it to answer; keeps what its output says
 * about an exit. Knows nothing of restarts or ownership: the supervisor decides those.
 */
export class OllamaLauncher {
  /** The `OLLAMA_HOST` the server is started with, `<host>:<port>`. */
  readonly host: string;

  constructor(
    private readonly runner: Pick<ProcessRunner, 'spawnGroupLeader'>,
    private readonly probe: Pick<OllamaProbe, 'version'>,
    private readonly settings: LaunchSettings,
    private readonly output = new OllamaOutput(),
  ) {
    this.host = ollamaHostFor(settings.url);
  }

  /**
   * Spawns `$OLLAMA_BIN serve` as the leader of a new process group, with `OLLAMA_HOST` and
   * `OLLAMA_KEEP_ALIVE` over this process's environment and its output streamed into the log.
   * @returns once the process runs.
   * @throws an Error whose message tells the operator what to fix (binary missing, not executable, ...).
   */
  async spawn(): Promise<SpawnedProcess> {
    const { bin, keepAlive } = this.settings;
    this.output.reset();
    try {
      return await this.runner.spawnGroupLeader(
        bin,
        ['serve'],
        { ...process.env, OLLAMA_HOST: this.host, OLLAMA_KEEP_ALIVE: String(keepAlive.apiValue) },
        (stream, line) => this.output.write(stream, line),
      );
    } catch (error) {
      throw new Error(spawnFailure(bin, error), { cause: error });
    }
  }

  /**
   * Polls `GET /api/version` until `child` answers, exits, `OLLAMA_STARTUP_TIMEOUT` passes or `signal`
   * aborts. An answer that comes while `child` has already exited is another server's, not its.
   */
  async waitForFirstAnswer(child: SpawnedProcess, signal: AbortSignal): Promise<StartOutcome> {
    const deadline = Date.now() + this.settings.startupTimeoutMs;
    for (;;) {
      if (child.hasExited()) {
        return { kind: 'exited', exit: await child.exited };
      }
      if (signal.aborted) {
        return { kind: 'aborted' };
      }
      const answer = await this.probe.version(signal);
      if (answer.ok && !child.hasExited()) {
        return { kind: 'up', version: answer.version };
      }
      if (Date.now() >= deadline) {
        return { kind: 'timeout' };
      }
      await Promise.race([sleep(STARTUP_POLL_INTERVAL_MS, signal).catch(() => undefined), child.exited]);
    }
  }

  /**
   * How the last started server ended, for an operator: `code 1: Error: listen tcp ...: bind: address
   * already in use`, or just `signal SIGKILL` when its output says nothing that would explain it.
   */
  describeExit(exit: ProcessExit): string {
    const how = exit.code !== null ? `code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
    const clues = this.output.exitClues();
    return clues === '' ? how : `${how}: ${clues}`;
  }
}

function spawnFailure(bin: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const isPath = bin.includes('/');
  if (code === 'ENOENT') {
    return isPath
      ? `ollama binary '${bin}' not found; install Ollama or set OLLAMA_BIN`
      : `ollama binary '${bin}' not found on PATH; install Ollama or set OLLAMA_BIN`;
  }
  if (code === 'EACCES') {
    return `ollama binary '${bin}' is not executable; fix its permissions or set OLLAMA_BIN`;
  }
  return `cannot start '${bin} serve': ${errorText(error)}`;
}

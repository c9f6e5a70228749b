/** The set-up shared by the unit specs of `OllamaSupervisor`, on a `FakeMachine`. */
import { Logger } from '@nestjs/common';
import type { OllamaConfig } from '../../src/config/configuration';
import { parseEnvironment } from '../../src/config/environment';
import { EventLoopDelay } from '../../src/metrics/event-loop-delay';
import { MetricsService } from '../../src/metrics/metrics.service';
import type { OllamaProbe } from '../../src/ollama-process/ollama-probe';
import { OllamaSupervisor } from '../../src/ollama-process/ollama-supervisor';
import { FakeMachine, FakePidFile } from './fake-machine';

export const URL_ = 'http://127.0.0.1:11434';

/** The contract's defaults, as the application parses them, with a pid file of the test's own. */
function settings(overrides: Partial<OllamaConfig> = {}): OllamaConfig {
  return {
    ...parseEnvironment({ OLLAMA_URL: URL_ }).ollama,
    pidFile: '/run/test/ollama-manager-11434.pid',
    ...overrides,
  };
}

/** A supervisor of `machine` with the defaults and `overrides`, and the pid file it records in. */
export function newSupervisor(
  machine: FakeMachine,
  metrics: MetricsService,
  overrides: Partial<OllamaConfig> = {},
): { supervisor: OllamaSupervisor; pidFile: FakePidFile } {
  const config = settings(overrides);
  const pidFile = new FakePidFile(config.pidFile);
  const supervisor = new OllamaSupervisor(
    config,
    machine.runner,
    machine.probe as unknown as OllamaProbe,
    pidFile,
    metrics,
  );
  return { supervisor, pidFile };
}

export async function ollamaUpGauge(metrics: MetricsService): Promise<number> {
  return (await metrics.ollamaUp.get()).values[0].value;
}

export async function restartsCountedIn(metrics: MetricsService): Promise<number> {
  return (await metrics.ollamaProcessRestarts.get()).values[0]?.value ?? 0;
}

/** Advances fake time until `condition` holds, failing after `limitMs`. */
export async function until(condition: () => boolean, limitMs = 120_000): Promise<number> {
  let waited = 0;
  while (!condition()) {
    if (waited >= limitMs) {
      throw new Error(`condition not met within ${limitMs} ms of fake time`);
    }
    await jest.advanceTimersByTimeAsync(100);
    waited += 100;
  }
  return waited;
}

/** Keeps log lines out of the test output; returns the spy on `Logger.error`. */
export function quietLogs(): jest.SpyInstance {
  for (const level of ['log', 'warn', 'debug'] as const) {
    jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
  }
  return jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
}

/** Stops `supervisor` (if a test made one), running its timers out, then restores real timers and mocks. */
export async function stopAndRestore(supervisor: OllamaSupervisor | undefined): Promise<void> {
  const stopping = supervisor?.stop();
  await jest.runAllTimersAsync();
  await stopping;
  jest.useRealTimers();
  jest.restoreAllMocks();
}

/** What an `OllamaSupervisor` spec works with: a fresh machine and metrics for each test, and the supervisor it built. */
export interface SupervisorHarness {
  readonly machine: FakeMachine;
  readonly metrics: MetricsService;
  /** The supervisor the last `build` or `started` made; stopped after each test. */
  readonly supervisor: OllamaSupervisor;
  /** The pid file of that supervisor. */
  readonly pidFile: FakePidFile;
  /** The spy on `Logger.error`, whose lines are kept out of the test output. */
  readonly loggedErrors: jest.SpyInstance;
  /** A supervisor of this test's machine with the defaults and `overrides`, not yet started. */
  build(overrides?: Partial<OllamaConfig>): OllamaSupervisor;
  /** `build`, then start it and let what is due at once run. */
  started(overrides?: Partial<OllamaConfig>): Promise<OllamaSupervisor>;
  /** `build`, record `pid` in its pid file (as an earlier run would have), then start it as `started` does. */
  startedWithRecordedPid(pid: number): Promise<OllamaSupervisor>;
  /** The value of the `ollama_up` gauge. */
  gaugeValue(): Promise<number>;
  /** How many restarts the metrics counted. */
  restartsCounted(): Promise<number>;
}

/** Registers the set-up of an `OllamaSupervisor` spec (fake timers, fresh machine and metrics, quiet logs) and its tear-down. */
export function useSupervisorHarness(): SupervisorHarness {
  let machine: FakeMachine;
  let pidFile: FakePidFile;
  let eventLoop: EventLoopDelay;
  let metrics: MetricsService;
  let supervisor: OllamaSupervisor;
  let loggedErrors: jest.SpyInstance;

  function build(overrides: Partial<OllamaConfig> = {}): OllamaSupervisor {
    ({ supervisor, pidFile } = newSupervisor(machine, metrics, overrides));
    return supervisor;
  }

  beforeEach(() => {
    // The metrics' event-loop sampler runs on real timers: run with the fake ones, it never ends.
    eventLoop = new EventLoopDelay();
    metrics = new MetricsService(eventLoop);
    jest.useFakeTimers();
    machine = new FakeMachine();
    loggedErrors = quietLogs();
  });

  afterEach(async () => {
    await stopAndRestore(supervisor);
    eventLoop.stop();
  });

  return {
    get machine() {
      return machine;
    },
    get metrics() {
      return metrics;
    },
    get supervisor() {
      return supervisor;
    },
    get pidFile() {
      return pidFile;
    },
    get loggedErrors() {
      return loggedErrors;
    },
    build,
    async started(overrides: Partial<OllamaConfig> = {}): Promise<OllamaSupervisor> {
      build(overrides).start();
      await jest.advanceTimersByTimeAsync(0);
      return supervisor;
    },
    async startedWithRecordedPid(pid: number): Promise<OllamaSupervisor> {
      build();
      pidFile.pid = pid;
      supervisor.start();
      await jest.advanceTimersByTimeAsync(0);
      return supervisor;
    },
    gaugeValue: () => ollamaUpGauge(metrics),
    restartsCounted: () => restartsCountedIn(metrics),
  };
}

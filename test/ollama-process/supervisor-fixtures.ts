/** The set-up shared by the unit specs of `OllamaSupervisor`, on a `FakeMachine`. */
import { Logger } from '@nestjs/common';
import type { OllamaConfig } from '../../src/config/configuration';
import { parseEnvironment } from '../../src/config/environment';
import type { MetricsService } from '../../src/metrics/metrics.service';
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

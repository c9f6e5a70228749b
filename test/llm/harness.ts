import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlmService } from '../../src/llm/llm.service';
import type { LlmChatRequest, LlmState, LlmStreamEvent } from '../../src/llm/llm.types';
import { OllamaClientError } from '../../src/llm/ollama/ollama-client.errors';
import { MetricsService } from '../../src/metrics/metrics.service';
import { EmulatorOptions, OllamaEmulator } from '../emulator/ollama-emulator';
import { RunningApp, startApp } from '../support/app';
import { eventually } from '../support/eventually';

export { eventually } from '../support/eventually';

export const MODEL = 'llama3.1:latest';

/** The call options of the tests' requests: the endpoint their metrics are labelled with. */
export const CHAT = { endpoint: 'test' };

/** The `OllamaClientError` a call fails with; anything else, or success, fails the test. */
export async function failureOf(promise: Promise<unknown>): Promise<OllamaClientError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OllamaClientError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

export function userMessage(content: string): LlmChatRequest {
  return { messages: [{ role: 'user', content }] };
}

/** Reads a stream to its end; returns the events, or the error it threw with the events before it. */
export async function drain(
  events: AsyncIterable<LlmStreamEvent>,
): Promise<{ events: LlmStreamEvent[]; error?: unknown }> {
  const seen: LlmStreamEvent[] = [];
  try {
    for await (const event of events) {
      seen.push(event);
    }
    return { events: seen };
  } catch (error) {
    return { events: seen, error };
  }
}

/** Runs `promise` and says what it settled to, and how long that took. */
export async function timed<T>(promise: () => Promise<T>): Promise<{ value?: T; error?: unknown; elapsedMs: number }> {
  const started = performance.now();
  try {
    const value = await promise();
    return { value, elapsedMs: performance.now() - started };
  } catch (error) {
    return { error, elapsedMs: performance.now() - started };
  }
}

/** The real application in front of an Ollama emulator; `LlmService` taken from it directly. */
export interface LlmHarness {
  emulator: OllamaEmulator;
  running: RunningApp;
  llm: LlmService;
  metrics: MetricsService;
  /** Every state `LlmService.status()` reported, sampled since the start, without repeats. */
  statesSeen: LlmState[];
  waitUntilReady(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts an emulator (with `emulatorOptions`) and the application pointed at it, with no Ollama to start
 * and the given environment. Does not wait for the model: call `waitUntilReady()`. `close()` is safe to
 * call twice and cleans up whatever was started.
 */
export async function startHarness(
  env: Record<string, string>,
  emulatorOptions: Partial<EmulatorOptions> = {},
): Promise<LlmHarness> {
  // The model echoes the last user message, so each answer shows which request it belongs to.
  const emulator = new OllamaEmulator({ models: [MODEL], replyText: ({ prompt }) => prompt, ...emulatorOptions });
  await emulator.start();
  const workDir = mkdtempSync(join(tmpdir(), 'llm-e2e-'));
  const cleanUp = async (): Promise<void> => {
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  let running: RunningApp;
  try {
    running = await startApp({
      OLLAMA_URL: emulator.url,
      OLLAMA_MODEL: MODEL,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_PID_FILE: join(workDir, 'ollama.pid'),
      ...env,
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const llm = running.app.get(LlmService);
  const statesSeen: LlmState[] = [];
  const sample = (): void => {
    const state = llm.status().state;
    if (statesSeen.at(-1) !== state) {
      statesSeen.push(state);
    }
  };
  sample();
  const sampler = setInterval(sample, 5);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) {
      return;
    }
    closed = true;
    clearInterval(sampler);
    try {
      await running.close();
    } finally {
      await cleanUp();
    }
  };
  return {
    emulator,
    running,
    llm,
    metrics: running.app.get(MetricsService),
    statesSeen,
    waitUntilReady: async (timeoutMs = 20_000) => {
      await eventually('model ready', () => llm.status().state === 'ready', timeoutMs);
    },
    close,
  };
}

/** The value of one series of a counter, e.g. `llm_requests_rejected_total{reason="overloaded"}`. */
export async function counterValue(
  metrics: MetricsService,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const series = metric?.values.find((value) =>
    Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
  );
  return series?.value ?? 0;
}

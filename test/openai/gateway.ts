import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { RunningApp, startApp } from '../support/app';

export const MODEL = 'llama3.1:latest';

/** The real application in front of an Ollama emulator, with the model warmed and counters zeroed. */
export interface Gateway {
  emulator: OllamaEmulator;
  running: RunningApp;
  url: string;
  /** Stops the application, then the emulator. Safe to call twice. */
  close(): Promise<void>;
}

/** Polls `check` until it returns true; fails naming `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(25);
  }
}

/** Waits until readiness answers 200, or, where there is no readiness route, until models stop answering 503. */
async function waitUntilReady(url: string, apiKey: string | undefined): Promise<void> {
  const headers: Record<string, string> = apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` };
  await eventually(`${url} to be ready`, async () => {
    const ready = await fetch(`${url}/health/ready`);
    await ready.arrayBuffer();
    if (ready.status !== 404) {
      return ready.status === 200;
    }
    const probe = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'ready?' }] }),
    });
    await probe.arrayBuffer();
    return probe.status !== 503;
  });
}

/**
 * Starts an emulator serving `MODEL` and the application pointed at it (never starting or pulling an
 * Ollama), with `env` on top; resolves once the model is ready, with the emulator's counters zeroed.
 */
export async function startGateway(env: Record<string, string> = {}): Promise<Gateway> {
  const emulator = new OllamaEmulator({ models: [MODEL] });
  await emulator.start();
  const workDir = mkdtempSync(join(tmpdir(), 'openai-e2e-'));
  let running: RunningApp | undefined;
  const close = async (): Promise<void> => {
    await running?.close();
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    running = await startApp({
      OLLAMA_URL: emulator.url,
      OLLAMA_MODEL: MODEL,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_AUTO_PULL: 'false',
      OLLAMA_PID_FILE: join(workDir, 'ollama.pid'),
      LLM_KEEP_WARM: 'false',
      CIRCUIT_FAILURE_THRESHOLD: '1000',
      ...env,
    });
    await waitUntilReady(running.url, env.API_KEYS?.split(',')[0]);
  } catch (error) {
    await close();
    throw error;
  }
  emulator.resetStats();
  return { emulator, running, url: running.url, close };
}

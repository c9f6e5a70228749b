import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import type { EmulatorOptions } from '../emulator/types';
import { RunningApp, startApp } from './app';
import { eventually } from './eventually';

export const MODEL = 'llama3.1:latest';

/** The real application in front of an Ollama emulator, with the model warmed and counters zeroed. */
export interface Gateway {
  emulator: OllamaEmulator;
  running: RunningApp;
  url: string;
  /** Stops the application, then the emulator. Safe to call twice. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** The emulator's options; by default it has `MODEL` only. */
  emulator?: Partial<EmulatorOptions>;
  /** Where the gateway finds Ollama, when not at the emulator itself (a proxy in front of it). */
  ollamaUrl?: (emulator: OllamaEmulator) => Promise<string> | string;
  /** Resolve once readiness answers 200 (the default); `false` to test what happens before. */
  waitUntilReady?: boolean;
}

/**
 * Starts an emulator serving `MODEL` and the application pointed at it (never starting or pulling an
 * Ollama, keep-warm off so the emulator's counters hold only what a test sends, and a circuit that
 * does not open under deliberate faults), with `env` on top; resolves once readiness answers 200, with
 * the emulator's counters zeroed.
 */
export async function startGateway(env: Record<string, string> = {}, options: GatewayOptions = {}): Promise<Gateway> {
  const emulator = new OllamaEmulator({ models: [MODEL], ...options.emulator });
  await emulator.start();
  const workDir = mkdtempSync(join(tmpdir(), 'gateway-e2e-'));
  let running: RunningApp | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) {
      return;
    }
    closed = true;
    await running?.close();
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    running = await startApp({
      OLLAMA_URL: options.ollamaUrl === undefined ? emulator.url : await options.ollamaUrl(emulator),
      OLLAMA_MODEL: MODEL,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_AUTO_PULL: 'false',
      OLLAMA_PID_FILE: join(workDir, 'ollama.pid'),
      LLM_KEEP_WARM: 'false',
      CIRCUIT_FAILURE_THRESHOLD: '1000',
      ...env,
    });
    if (options.waitUntilReady !== false) {
      const url = running.url;
      await eventually(
        `${url}/health/ready to answer 200`,
        async () => {
          const ready = await fetch(`${url}/health/ready`);
          await ready.arrayBuffer();
          return ready.status === 200;
        },
        30_000,
      );
      emulator.resetStats();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { emulator, running, url: running.url, close };
}

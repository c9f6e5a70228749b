import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OllamaEmulator } from '../emulator/ollama-emulator';
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

/**
 * Starts an emulator serving `MODEL` and the application pointed at it (never starting or pulling an
 * Ollama, keep-warm off so the emulator's counters hold only what a test sends, and a circuit that
 * does not open under deliberate faults), with `env` on top; resolves once readiness answers 200, with
 * the emulator's counters zeroed.
 */
export async function startGateway(env: Record<string, string> = {}): Promise<Gateway> {
  const emulator = new OllamaEmulator({ models: [MODEL] });
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
      OLLAMA_URL: emulator.url,
      OLLAMA_MODEL: MODEL,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_AUTO_PULL: 'false',
      OLLAMA_PID_FILE: join(workDir, 'ollama.pid'),
      LLM_KEEP_WARM: 'false',
      CIRCUIT_FAILURE_THRESHOLD: '1000',
      ...env,
    });
    const url = running.url;
    await eventually(
      async () => {
        const ready = await fetch(`${url}/health/ready`);
        await ready.arrayBuffer();
        return ready.status === 200;
      },
      `${url}/health/ready to answer 200`,
      30_000,
    );
  } catch (error) {
    await close();
    throw error;
  }
  emulator.resetStats();
  return { emulator, running, url: running.url, close };
}

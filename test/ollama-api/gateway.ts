import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { RunningApp, startApp } from '../support/app';
import { eventually } from '../support/eventually';

/** API keys must be at least 16 characters long. */
export const API_KEY = 'ollama-api-e2e-key-0123456789';
export const AUTH = { authorization: `Bearer ${API_KEY}` };

/** The default model (OLLAMA_MODEL) and the other served ones (OLLAMA_MODELS). */
export const CHAT_MODEL = 'llama3.1:latest';
export const SECOND_CHAT_MODEL = 'qwen2.5:0.5b';
export const EMBED_MODEL = 'nomic-embed-text:latest';
/** Present in Ollama, but not served by the gateway. */
export const UNSERVED_MODEL = 'llama3.2:latest';

/** The gateway's OLLAMA_KEEP_ALIVE in these tests: not Ollama's default, not what clients send. */
export const GATEWAY_KEEP_ALIVE = '17m';

/** The real application in front of an Ollama emulator that has the served models and one more. */
export interface OllamaGateway {
  emulator: OllamaEmulator;
  running: RunningApp;
  url: string;
  /** Stops the application, then the emulator. Safe to call twice. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Environment on top of the defaults below. */
  env?: Record<string, string>;
  /** Where the gateway finds Ollama, when not at the emulator itself (a proxy in front of it). */
  ollamaUrl?: (emulator: OllamaEmulator) => Promise<string> | string;
  /** Resolve once readiness answers 200 (the default); `false` to test what happens before. */
  waitUntilReady?: boolean;
  /** Emulator model load time (default 0). */
  loadTimeMs?: number;
}

/**
 * Starts an emulator with every served model plus {@link UNSERVED_MODEL}, and the application in front
 * of it serving three models, with API keys, keep-warm off (the emulator's counters then hold only what
 * a test sends) and a circuit that does not open under deliberate faults; counters are zeroed once the
 * gateway is ready.
 */
export async function startOllamaGateway(options: GatewayOptions = {}): Promise<OllamaGateway> {
  const emulator = new OllamaEmulator({
    models: [CHAT_MODEL, SECOND_CHAT_MODEL, EMBED_MODEL, UNSERVED_MODEL],
    loadTimeMs: options.loadTimeMs ?? 0,
  });
  await emulator.start();
  const workDir = mkdtempSync(join(tmpdir(), 'ollama-api-e2e-'));
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
      OLLAMA_MODEL: CHAT_MODEL,
      OLLAMA_MODELS: `${SECOND_CHAT_MODEL},${EMBED_MODEL}`,
      OLLAMA_KEEP_ALIVE: GATEWAY_KEEP_ALIVE,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_AUTO_PULL: 'false',
      OLLAMA_PID_FILE: join(workDir, 'ollama.pid'),
      LLM_KEEP_WARM: 'false',
      CIRCUIT_FAILURE_THRESHOLD: '1000',
      API_KEYS: API_KEY,
      ...options.env,
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

/** The body a request of `endpoint` brought to the emulator last. */
export function lastUpstreamBody(
  gateway: OllamaGateway,
  endpoint: 'chat' | 'generate' | 'embed' | 'embeddings' | 'show',
): Record<string, unknown> {
  const record = gateway.emulator.lastRequest({ endpoint });
  if (record === undefined) {
    throw new Error(`no ${endpoint} request reached the emulator`);
  }
  return record.body as Record<string, unknown>;
}

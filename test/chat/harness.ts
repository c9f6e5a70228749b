import { mkdtempSync, rmSync } from 'node:fs';
import { IncomingMessage, request } from 'node:http';
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
  close(): Promise<void>;
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await delay(25);
  }
}

export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

/** A POST on a connection of its own, which the test can cut like a client that goes away. */
export interface DisconnectableRequest {
  /** Settles when the response headers arrive. */
  response: Promise<IncomingMessage>;
  /** Destroys the connection, as a client that closes its tab or times out does. */
  disconnect(): void;
}

/**
 * Sends `body` as JSON without a connection pool: `fetch`'s pool may open a spare connection after an
 * abort, which would keep the server from closing and hide what is being tested.
 */
export function postDisconnectable(url: string, body: unknown): DisconnectableRequest {
  const payload = JSON.stringify(body);
  const outgoing = request(url, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
  });
  // The disconnect itself surfaces as an error on a promise the test may no longer await.
  response.catch(() => undefined);
  outgoing.end(payload);
  return { response, disconnect: () => outgoing.destroy() };
}

/** Waits until an inference request is no longer refused as "not ready". */
async function waitForModel(url: string): Promise<void> {
  await eventually(async () => {
    const ready = await fetch(`${url}/health/ready`);
    if (ready.status === 200) {
      return true;
    }
    if (ready.status !== 404) {
      return false;
    }
    const chat = await postJson(`${url}/chat`, { message: 'warm?' });
    await chat.arrayBuffer();
    return chat.status !== 503;
  }, 30_000);
}

/**
 * Starts an emulator and the application pointed at it (never starting or pulling an Ollama), waits
 * until the model is ready and zeroes the emulator's counters. `close()` is safe to call twice.
 */
export async function startGateway(env: Record<string, string> = {}): Promise<Gateway> {
  const emulator = new OllamaEmulator({ models: [MODEL] });
  await emulator.start();
  const workDir = mkdtempSync(join(tmpdir(), 'gateway-e2e-'));
  let running: RunningApp | undefined;
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
    await waitForModel(running.url);
  } catch (error) {
    await running?.close();
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
  emulator.resetStats();
  const app = running;
  return {
    emulator,
    running: app,
    url: app.url,
    close: async () => {
      await app.close();
      await emulator.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export interface ParsedEvent {
  /** `message` when the stream did not name the event. */
  event: string;
  data: unknown;
}

/** Parses a complete `text/event-stream` body into its events. */
export function parseEventStream(text: string): ParsedEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) {
          event = line.slice('event: '.length);
        } else if (line.startsWith('data: ')) {
          data.push(line.slice('data: '.length));
        }
      }
      return { event, data: JSON.parse(data.join('\n')) as unknown };
    });
}

/** Concatenated `delta`s of the unnamed events. */
export function deltasOf(events: ParsedEvent[]): string {
  return events
    .filter((event) => event.event === 'message')
    .map((event) => (event.data as { delta: string }).delta)
    .join('');
}

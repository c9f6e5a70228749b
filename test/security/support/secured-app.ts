import { OllamaEmulator } from '../../emulator/ollama-emulator';
import { RunningApp, startApp } from '../../support/app';

export interface SecuredApp {
  running: RunningApp;
  emulator: OllamaEmulator;
  url: string;
  /** Stops the application, then the emulator. Safe to call twice. */
  close(): Promise<void>;
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) {
        return;
      }
    } catch {
      // Not up yet: keep polling until the deadline.
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until `/health/ready` answers 200: Ollama is up and the model warm, so inference succeeds. */
export async function waitUntilReady(url: string): Promise<void> {
  await waitFor(`${url}/health/ready to answer 200`, async () => {
    const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status === 200;
  });
}

/**
 * The real application in this process, in front of an Ollama emulator, with `env` on top; resolves
 * once the model is ready.
 */
export async function startSecuredApp(env: Record<string, string> = {}): Promise<SecuredApp> {
  const emulator = new OllamaEmulator();
  await emulator.start(0);
  let running: RunningApp | undefined;
  const close = async (): Promise<void> => {
    await running?.close();
    await emulator.stop();
  };
  try {
    running = await startApp({ OLLAMA_URL: emulator.url, OLLAMA_AUTO_START: 'false', ...env });
    await waitUntilReady(running.url);
  } catch (error) {
    await close();
    throw error;
  }
  return { running, emulator, url: running.url, close };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { RunningApp, startApp } from '../support/app';
import { eventually } from '../support/eventually';

const TYPO = 'llama3.2:typo';

interface LlmHealth {
  status: string;
  error?: { llm?: { message?: string; state?: string } };
}

describe('a served model that does not exist', () => {
  let emulator: OllamaEmulator;
  let running: RunningApp | undefined;
  let workDir: string;

  beforeAll(async () => {
    // Ollama has the real model, and its registry has no `llama3.2:typo`.
    emulator = new OllamaEmulator({ models: ['llama3.2:latest'] });
    await emulator.start(0);
    workDir = mkdtempSync(join(tmpdir(), 'missing-model-e2e-'));
    running = await startApp({
      OLLAMA_URL: emulator.url,
      OLLAMA_MODEL: TYPO,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_PID_FILE: join(workDir, 'ollama.pid'),
    });
  });

  afterAll(async () => {
    await running?.close();
    await emulator?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("reports Ollama's reason in /health/llm and does not pull again in a tight loop", async () => {
    const health = await eventually(
      'the failed pull to be reported',
      async () => {
        const response = await fetch(`${running!.url}/health/llm`);
        const body = (await response.json()) as LlmHealth;
        return response.status === 503 && body.error?.llm?.message?.includes('registry') ? body : undefined;
      },
      10_000,
    );

    expect(health.error?.llm).toMatchObject({
      state: 'degraded',
      message:
        `model ${TYPO} does not exist in the registry (Ollama said "pull model manifest: file does not exist"); ` +
        'check OLLAMA_MODEL and OLLAMA_MODELS',
    });
    expect(emulator.requestCount({ endpoint: 'pull' })).toBe(1);
    // A few seconds, many times the lifecycle's first retry delay: a tight loop would pull again here.
    await delay(4_000);
    expect(emulator.requestCount({ endpoint: 'pull' })).toBe(1);
    expect((await fetch(`${running!.url}/health/ready`)).status).toBe(503);
  });
});

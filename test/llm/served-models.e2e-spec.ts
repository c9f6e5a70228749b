import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { RunningApp, startApp } from '../support/app';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';

const DEFAULT = 'llama3.1:latest';
const EMBEDDER = 'nomic-embed-text:latest';
const QWEN = 'qwen2.5:7b';
const ALL = [DEFAULT, EMBEDDER, QWEN];
/** Long enough that a request paying it stands out from one that does not. */
const LOAD_TIME_MS = 400;

interface ReadinessSample {
  status: number;
  /** Models Ollama had loaded when the answer came. */
  loaded: string[];
}

interface LlmHealth {
  details: {
    llm: {
      model: string;
      state: string;
      models: Record<string, { state: string; warm: boolean; capabilities: string[] }>;
    };
  };
}

describe('several served models (OLLAMA_MODELS)', () => {
  const emulator = new OllamaEmulator({ models: [], loadTimeMs: LOAD_TIME_MS, pullChunkDelayMs: 30 });
  const workDir = mkdtempSync(join(tmpdir(), 'served-models-'));
  const samples: ReadinessSample[] = [];
  let app: RunningApp;

  async function loadedModels(): Promise<string[]> {
    const ps = (await (await fetch(`${emulator.url}/api/ps`)).json()) as { models: Array<{ name: string }> };
    return ps.models.map((model) => model.name).sort();
  }

  function loadsOf(model: string): number {
    return emulator.stats.models[model]?.loads ?? 0;
  }

  beforeAll(async () => {
    await emulator.start();
    app = await startApp({
      OLLAMA_URL: emulator.url,
      OLLAMA_MODEL: DEFAULT,
      OLLAMA_MODELS: `${EMBEDDER},${QWEN}`,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_AUTO_PULL: 'true',
      OLLAMA_KEEP_ALIVE: '3s',
      LLM_KEEP_WARM: 'true',
      OLLAMA_PID_FILE: join(workDir, 'ollama.pid'),
    });
    await eventually(
      'readiness to answer 200',
      async () => {
        const response = await fetch(`${app.url}/health/ready`);
        await response.arrayBuffer();
        samples.push({ status: response.status, loaded: await loadedModels() });
        return response.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
  }, 40_000);

  afterAll(async () => {
    await app?.close();
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('pulls every served model that Ollama lacks', () => {
    const pulled = emulator.requests({ endpoint: 'pull' }).map((record) => record.model);
    expect([...new Set(pulled)].sort()).toEqual([...ALL].sort());
  });

  it('turns ready only once every model is warm', () => {
    expect(samples.some((sample) => sample.status === 503)).toBe(true);
    for (const sample of samples.filter((one) => one.status === 200)) {
      expect(sample.loaded).toEqual([...ALL].sort());
    }
  });

  it('warms a chat model with generate and an embedding model with embed', () => {
    expect(emulator.requestCount({ model: DEFAULT, endpoint: 'generate' })).toBeGreaterThanOrEqual(1);
    expect(emulator.requestCount({ model: QWEN, endpoint: 'generate' })).toBeGreaterThanOrEqual(1);
    expect(emulator.requestCount({ model: EMBEDDER, endpoint: 'embed' })).toBeGreaterThanOrEqual(1);
    expect(emulator.requestCount({ model: EMBEDDER, endpoint: 'generate' })).toBe(0);
  });

  it('reports each model in /health/llm with its state, warmth and capabilities', async () => {
    const health = (await (await fetch(`${app.url}/health/llm`)).json()) as LlmHealth;
    expect(health.details.llm).toMatchObject({ model: DEFAULT, state: 'ready' });
    expect(health.details.llm.models).toEqual({
      [DEFAULT]: { state: 'ready', warm: true, capabilities: ['completion', 'tools'] },
      [EMBEDDER]: { state: 'ready', warm: true, capabilities: ['embedding'] },
      [QWEN]: { state: 'ready', warm: true, capabilities: ['completion', 'tools'] },
    });
  });

  it('keeps every model warm past keep_alive', async () => {
    const loadsBefore = ALL.map(loadsOf);
    const refreshes = (): number =>
      emulator.requestCount({ model: DEFAULT, endpoint: 'generate' }) +
      emulator.requestCount({ model: EMBEDDER, endpoint: 'embed' });
    const refreshesBefore = refreshes();
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(await loadedModels()).toEqual([...ALL].sort());
    expect(ALL.map(loadsOf)).toEqual(loadsBefore);
    expect(refreshes()).toBeGreaterThan(refreshesBefore);
  });

  it('sends /chat to the model it names, and the first request to it pays no load', async () => {
    const loadsBefore = loadsOf(QWEN);
    const response = await postJson(`${app.url}/chat`, { message: 'hello qwen', model: QWEN });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { model: string; timings: { loadMs: number } };
    expect(body.model).toBe(QWEN);
    expect(body.timings.loadMs).toBeLessThan(LOAD_TIME_MS / 2);
    expect(loadsOf(QWEN)).toBe(loadsBefore);
    expect(emulator.lastRequest({ endpoint: 'chat' })?.model).toBe(QWEN);
  });

  it('uses the default model when /chat names none', async () => {
    const response = await postJson(`${app.url}/chat`, { message: 'hello' });
    expect(((await response.json()) as { model: string }).model).toBe(DEFAULT);
    expect(emulator.lastRequest({ endpoint: 'chat' })?.model).toBe(DEFAULT);
  });

  it('refuses chat on the embedding model with 400 naming the capability, without calling Ollama', async () => {
    const response = await postJson(`${app.url}/chat`, { message: 'hello', model: 'nomic-embed-text' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { message: string };
    expect(body.message).toContain(`model '${EMBEDDER}' does not support chat`);
    expect(body.message).toContain("'completion' capability");
    expect(emulator.requestCount({ model: EMBEDDER, endpoint: 'chat' })).toBe(0);
  });

  it('refuses a model that is not served with 404, on /chat and /risk/assess', async () => {
    const chat = await postJson(`${app.url}/chat`, { message: 'hello', model: 'mistral:7b' });
    expect(chat.status).toBe(404);
    expect(((await chat.json()) as { message: string }).message).toContain("model 'mistral:7b' is not served");
    const risk = await postJson(`${app.url}/risk/assess`, { subject: 'ACME', model: 'mistral:7b' });
    expect(risk.status).toBe(404);
    expect(emulator.requestCount({ model: 'mistral:7b' })).toBe(0);
  });

  it('lists every served model on /v1/models', async () => {
    const list = (await (await fetch(`${app.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((model) => model.id)).toEqual(ALL);
  });
});

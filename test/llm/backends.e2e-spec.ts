import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { RunningApp, startApp } from '../support/app';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';

const CHAT_MODEL = 'llama3.1:latest';
const EMBEDDER = 'nomic-embed-text:latest';
const MODELS = [CHAT_MODEL, EMBEDDER];

interface Outcome {
  status: number;
  body: Record<string, unknown>;
  startedAt: number;
}

function newEmulator(): OllamaEmulator {
  return new OllamaEmulator({ models: MODELS, tokenDelayMs: 1, numParallel: 0 });
}

describe('several Ollama servers behind one gateway (OLLAMA_URLS)', () => {
  const emulators = [newEmulator(), newEmulator(), newEmulator()];
  const workDir = mkdtempSync(join(tmpdir(), 'backends-'));
  let app: RunningApp;
  let warmUps: Array<{ generate: number; embed: number }>;

  function chatCounts(): number[] {
    return emulators.map((emulator) => emulator.requestCount({ endpoint: 'chat' }));
  }

  async function chat(): Promise<Outcome> {
    const startedAt = Date.now();
    const response = await postJson(`${app.url}/chat`, { message: 'one two three' });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, startedAt };
  }

  /** `workers` clients sending requests one after another until `until` resolves. */
  async function load(workers: number, until: Promise<unknown>): Promise<Outcome[]> {
    let done = false;
    void until.then(() => (done = true));
    const outcomes: Outcome[] = [];
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (!done) {
          outcomes.push(await chat());
        }
      }),
    );
    return outcomes;
  }

  const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    for (const emulator of emulators) {
      await emulator.start();
    }
    app = await startApp({
      OLLAMA_URLS: emulators.map((emulator) => emulator.url).join(','),
      OLLAMA_MODEL: CHAT_MODEL,
      OLLAMA_MODELS: EMBEDDER,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_AUTO_PULL: 'false',
      LLM_KEEP_WARM: 'false',
      LLM_MAX_CONCURRENCY: '8',
      OLLAMA_PID_FILE: join(workDir, 'ollama.pid'),
    });
    await eventually('readiness 200', async () => (await fetch(`${app.url}/health/ready`)).status === 200, 30_000);
    await eventually(
      'every model warm on every server',
      () =>
        emulators.every(
          (emulator) =>
            emulator.requestCount({ model: CHAT_MODEL, endpoint: 'generate' }) > 0 &&
            emulator.requestCount({ model: EMBEDDER, endpoint: 'embed' }) > 0,
        ),
      30_000,
    );
    warmUps = emulators.map((emulator) => ({
      generate: emulator.requestCount({ model: CHAT_MODEL, endpoint: 'generate' }),
      embed: emulator.requestCount({ model: EMBEDDER, endpoint: 'embed' }),
    }));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await Promise.all(emulators.map((emulator) => emulator.stop()));
    rmSync(workDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    for (const emulator of emulators) {
      emulator.resetStats();
    }
  });

  it('warms every served model on every server', () => {
    for (const counts of warmUps) {
      expect(counts.generate).toBeGreaterThanOrEqual(1);
      expect(counts.embed).toBeGreaterThanOrEqual(1);
    }
  });

  it('lists every server in /health/ollama', async () => {
    const body = (await (await fetch(`${app.url}/health/ollama`)).json()) as {
      details: { ollama: { backends: Array<{ url: string; reachable: boolean; ownership: string }> } };
    };
    expect(body.details.ollama.backends).toEqual(
      emulators.map((emulator) =>
        expect.objectContaining({ url: emulator.url, reachable: true, ownership: 'external' }),
      ),
    );
  });

  it('spreads requests over every server', async () => {
    for (let i = 0; i < 30; i++) {
      expect((await chat()).status).toBe(200);
    }
    for (const count of chatCounts()) {
      expect(count).toBeGreaterThanOrEqual(5);
    }
  });

  it('names each server in the metrics', async () => {
    await chat();
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    for (const emulator of emulators) {
      expect(metrics).toContain(`ollama_up{backend="${emulator.url}"} 1`);
      expect(metrics).toContain(`llm_circuit_state{backend="${emulator.url}"} 0`);
      expect(metrics).toContain(`llm_in_flight{backend="${emulator.url}"}`);
    }
    expect(metrics).toMatch(
      /llm_request_duration_seconds_count\{endpoint="chat",outcome="success",backend="http:\/\/127\.0\.0\.1:\d+"\} [1-9]/,
    );
  });

  it('sends most requests to the others while one server is slow', async () => {
    emulators[2].configure({ tokenDelayMs: 60 });
    try {
      const outcomes = await load(8, after(2_500));
      expect(outcomes.every((outcome) => outcome.status === 200)).toBe(true);
      const [a, b, slow] = chatCounts();
      expect(slow).toBeLessThan(a);
      expect(slow).toBeLessThan(b);
      expect(slow).toBeLessThan((a + b + slow) / 4);
    } finally {
      emulators[2].configure({ tokenDelayMs: 1 });
    }
  });

  it.each([
    ['one client at a time', 1],
    ['16 clients at once', 16],
  ])(
    'keeps serving %s when a server stops in the middle: nothing started afterwards fails, and the rest ends in the contract',
    async (_case, workers) => {
      const victim = emulators[1];
      const port = victim.port;
      let stoppedAt = Number.POSITIVE_INFINITY;
      const stop = after(700).then(async () => {
        stoppedAt = Date.now();
        await victim.stop();
      });
      const outcomes = await load(
        workers,
        stop.then(() => after(1_500)),
      );

      const later = outcomes.filter((outcome) => outcome.startedAt > stoppedAt);
      expect(later.length).toBeGreaterThan(0);
      expect(later.filter((outcome) => outcome.status !== 200)).toEqual([]);
      for (const failed of outcomes.filter((outcome) => outcome.status !== 200)) {
        expect([502, 503, 504]).toContain(failed.status);
        expect(failed.body).toMatchObject({ statusCode: failed.status, message: expect.any(String) });
      }

      // The server comes back: once the model is warm on it again it takes requests.
      const back = newEmulator();
      emulators[1] = back;
      await back.start(port);
      await eventually(
        'the server that came back to serve again',
        async () => {
          expect((await chat()).status).toBe(200);
          return back.requestCount({ endpoint: 'chat' }) > 0;
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      );
      const first = back.requests().findIndex((record) => record.endpoint === 'chat');
      const warmUp = back
        .requests()
        .findIndex((record) => record.endpoint === 'generate' && record.model === CHAT_MODEL);
      expect(warmUp).toBeGreaterThanOrEqual(0);
      expect(warmUp).toBeLessThan(first);
    },
    40_000,
  );
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseKeepAlive } from '../../src/config/duration';
import { OllamaClient } from '../../src/llm/ollama/ollama-client';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { failureOf } from './harness';

const EMBEDDER = 'nomic-embed-text:latest';
const CALL = { timeoutMs: 5_000 };
const SETTINGS = { keepAlive: parseKeepAlive('5m')!, maxSockets: 8 };

describe(`${OllamaClient.name} embeddings`, () => {
  const emulator = new OllamaEmulator({ models: [EMBEDDER] });
  let client: OllamaClient;

  beforeAll(async () => {
    await emulator.start();
    client = new OllamaClient(emulator.url, SETTINGS);
  });

  afterAll(async () => {
    client.destroy();
    await emulator.stop();
  });

  it('embeds a batch, one vector per input in order, each as the text Ollama wrote', async () => {
    const input = Array.from({ length: 64 }, (_, i) => `text number ${i}`);
    const direct = await fetch(`${emulator.url}/api/embed`, {
      method: 'POST',
      body: JSON.stringify({ model: EMBEDDER, input }),
    }).then((response) => response.text());
    // As Ollama wrote them: `[…],[…],…` between `"embeddings":[` and the `]` closing the list.
    const start = direct.indexOf('"embeddings":[') + '"embeddings":['.length;
    const written = direct.slice(start, direct.indexOf(']]', start) + 1);

    const result = await client.embed(EMBEDDER, { model: EMBEDDER, input }, CALL);
    expect(result.model).toBe(EMBEDDER);
    expect(result.promptTokens).toBe((JSON.parse(direct) as { prompt_eval_count: number }).prompt_eval_count);
    expect(result.embeddings.length).toBe(64);
    const texts = Array.from({ length: 64 }, (_, i) => result.embeddings.json(i).toString('utf8'));
    expect(texts.join(',')).toBe(written);
    expect(result.embeddings.toJSON()).toEqual((JSON.parse(direct) as { embeddings: number[][] }).embeddings);
  });

  it('refuses an embed answer that is not one vector of numbers per input as a protocol failure', async () => {
    const answers = [
      '{"model":"m","embeddings":[[0.1,"0.2"]],"prompt_eval_count":1}',
      '{"model":"m","embeddings":[[0.1],[0.2]],"prompt_eval_count":1}',
      '{"model":"m","embeddings":[[0.1]],"prompt_eval_count":1',
    ];
    const server = createServer((_, response) => response.end(answers.shift()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const other = new OllamaClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, SETTINGS);
    try {
      const request = { model: EMBEDDER, input: ['one'] };
      const failures = [];
      for (let i = 0; i < 3; i++) {
        failures.push(await failureOf(other.embed(EMBEDDER, request, CALL)));
      }
      expect(failures.map(({ kind, message }) => ({ kind, message }))).toEqual([
        { kind: 'protocol', message: 'Ollama answered /api/embed with embeddings that are not arrays of numbers' },
        { kind: 'protocol', message: 'Ollama answered embed without one vector per input' },
        { kind: 'protocol', message: 'Ollama answered /api/embed with something that is not JSON' },
      ]);
    } finally {
      other.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

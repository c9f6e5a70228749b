import { OllamaEmulator } from './ollama-emulator';
import { LineReader, RFC3339_NANO, parseNdjson, type Json, useEmulator } from './test-helpers';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';

jest.setTimeout(30_000);

describe('OllamaEmulator', () => {
  const h = useEmulator();

  describe('model listing and details', () => {
    h.startEach(() => new OllamaEmulator({ models: ['llama3.1:latest', 'qwen2.5:0.5b'] }));

    it('lists local models in /api/tags with the full ModelResponse shape', async () => {
      const res = await fetch(`${h.emulator.url}/api/tags`);
      expect(res.status).toBe(200);
      const { models } = (await res.json()) as { models: Json[] };
      expect(models.map((m) => m['name'])).toEqual(['llama3.1:latest', 'qwen2.5:0.5b']);
      for (const model of models) {
        expect(model['model']).toBe(model['name']);
        expect(model['modified_at']).toMatch(RFC3339_NANO);
        expect(Number.isInteger(model['size'])).toBe(true);
        expect(model['digest']).toMatch(/^[0-9a-f]{64}$/);
        expect(model['details']).toEqual({
          parent_model: '',
          format: 'gguf',
          family: expect.any(String),
          families: [expect.any(String)],
          parameter_size: expect.any(String),
          quantization_level: 'Q4_K_M',
          context_length: expect.any(Number),
          embedding_length: expect.any(Number),
        });
        expect(model['capabilities']).toEqual(['completion', 'tools']);
      }
      expect(models[1]?.['details']).toMatchObject({ context_length: 32768, embedding_length: 896 });
    });

    it('returns an empty array, not null, when no model is present', async () => {
      h.emulator.configure({ models: [] });
      expect(await (await fetch(`${h.emulator.url}/api/tags`)).json()).toEqual({ models: [] });
      expect(await (await fetch(`${h.emulator.url}/api/ps`)).json()).toEqual({ models: [] });
    });

    it('shows a model with details, model_info and capabilities', async () => {
      const res = await postJson(`${h.emulator.url}/api/show`, { model: 'qwen2.5:0.5b' });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Json;
      expect(body['details']).toMatchObject({ family: 'qwen2', parameter_size: '494.03M' });
      expect(body['model_info']).toMatchObject({ 'general.architecture': 'qwen2', 'qwen2.context_length': 32768 });
      expect(body['capabilities']).toEqual(['completion', 'tools']);
      expect(typeof body['modelfile']).toBe('string');
      expect(body['modified_at']).toMatch(RFC3339_NANO);
    });

    it('rejects /api/show for an unknown model with the normalised name, and without a model', async () => {
      const missing = await postJson(`${h.emulator.url}/api/show`, { name: 'mistral' });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: "model 'mistral:latest' not found" });
      const noModel = await postJson(`${h.emulator.url}/api/show`, {});
      expect(noModel.status).toBe(400);
      expect(await noModel.json()).toEqual({ error: 'model is required' });
    });

    it('deletes a model with an empty 200 and 404s an unknown one', async () => {
      const res = await fetch(`${h.emulator.url}/api/delete`, {
        method: 'DELETE',
        body: JSON.stringify({ name: 'qwen2.5:0.5b' }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('');
      const { models } = (await (await fetch(`${h.emulator.url}/api/tags`)).json()) as { models: Json[] };
      expect(models.map((m) => m['name'])).toEqual(['llama3.1:latest']);

      const again = await fetch(`${h.emulator.url}/api/delete`, {
        method: 'DELETE',
        body: JSON.stringify({ model: 'qwen2.5:0.5b' }),
      });
      expect(again.status).toBe(404);
      expect(await again.json()).toEqual({ error: "model 'qwen2.5:0.5b' not found" });
    });

    it('lists models on /v1/models in the OpenAI shape', async () => {
      const res = await fetch(`${h.emulator.url}/v1/models`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { object: string; data: Json[] };
      expect(body.object).toBe('list');
      expect(body.data.map((m) => m['id'])).toEqual(['llama3.1:latest', 'qwen2.5:0.5b']);
      for (const model of body.data) {
        expect(model).toEqual({
          id: expect.any(String),
          object: 'model',
          created: expect.any(Number),
          owned_by: 'library',
        });
      }
    });
  });

  describe('pull', () => {
    h.startEach(() => new OllamaEmulator({ models: [], pullChunkDelayMs: 1, pullChunks: 3 }));

    it('streams pull progress in Ollama order and adds the model to /api/tags', async () => {
      const res = await postJson(`${h.emulator.url}/api/pull`, { model: 'llama3.2' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson');
      const lines = parseNdjson(await res.text());
      const statuses = lines.map((l) => l['status']);
      expect(statuses[0]).toBe('pulling manifest');
      expect(statuses.slice(-3)).toEqual(['verifying sha256 digest', 'writing manifest', 'success']);

      const layerLines = lines.filter(
        (l) =>
          typeof l['status'] === 'string' && l['status'].startsWith('pulling ') && l['status'] !== 'pulling manifest',
      );
      const digests = [...new Set(layerLines.map((l) => l['digest']))];
      expect(digests).toHaveLength(2);
      for (const digest of digests) {
        expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        const forLayer = layerLines.filter((l) => l['digest'] === digest);
        expect(forLayer.every((l) => l['status'] === `pulling ${(digest as string).slice(7, 19)}`)).toBe(true);
        // completed is omitempty: absent on the first line, then rising to total.
        expect(forLayer[0]).not.toHaveProperty('completed');
        const completed = forLayer.slice(1).map((l) => l['completed'] as number);
        expect(completed).toHaveLength(3);
        expect([...completed].sort((a, b) => a - b)).toEqual(completed);
        expect(completed.at(-1)).toBe(forLayer[0]?.['total']);
      }

      const { models } = (await (await fetch(`${h.emulator.url}/api/tags`)).json()) as { models: Json[] };
      expect(models.map((m) => m['name'])).toEqual(['llama3.2:latest']);
    });

    it('accepts `name` (as ollama-js sends) and reports layers already on disk in one line', async () => {
      await (await postJson(`${h.emulator.url}/api/pull`, { name: 'qwen2.5:0.5b' })).text();
      const lines = parseNdjson(await (await postJson(`${h.emulator.url}/api/pull`, { name: 'qwen2.5:0.5b' })).text());
      const layerLines = lines.filter((l) => l['digest'] !== undefined);
      expect(layerLines).toHaveLength(2);
      for (const line of layerLines) {
        expect(line['completed']).toBe(line['total']);
      }
      expect(lines.at(-1)).toEqual({ status: 'success' });
    });

    it('answers a non-streamed pull with only the success object', async () => {
      const res = await postJson(`${h.emulator.url}/api/pull`, { model: 'qwen2.5:0.5b', stream: false });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'success' });
    });

    it('fails an unknown model after the manifest line when streaming, and with a 500 when not', async () => {
      const streamed = await postJson(`${h.emulator.url}/api/pull`, { model: 'no-such-model' });
      expect(streamed.status).toBe(200);
      expect(parseNdjson(await streamed.text())).toEqual([
        { status: 'pulling manifest' },
        { error: 'pull model manifest: file does not exist' },
      ]);

      const single = await postJson(`${h.emulator.url}/api/pull`, { model: 'no-such-model', stream: false });
      expect(single.status).toBe(500);
      expect(await single.json()).toEqual({ error: 'pull model manifest: file does not exist' });
      expect(await (await fetch(`${h.emulator.url}/api/tags`)).json()).toEqual({ models: [] });
    });

    it('rejects an invalid model name with 400', async () => {
      const res = await postJson(`${h.emulator.url}/api/pull`, { model: 'not a valid name!' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid model name' });
    });

    it('counts a pull whose client went away', async () => {
      h.emulator.configure({ pullChunkDelayMs: 200 });
      const controller = new AbortController();
      const res = await postJson(`${h.emulator.url}/api/pull`, { model: 'llama3.2' }, { signal: controller.signal });
      const reader = LineReader.of(res);
      expect(JSON.parse((await reader.next()) ?? '')).toEqual({ status: 'pulling manifest' });
      controller.abort();
      await eventually('the aborted pull to be counted', () => h.emulator.stats.abortedPulls === 1);
      expect(await (await fetch(`${h.emulator.url}/api/tags`)).json()).toEqual({ models: [] });
    });
  });
});

import { BUSY_MESSAGE, OllamaEmulator } from './ollama-emulator';
import {
  LineReader,
  RFC3339_NANO,
  RFC3339_NANO_UTC,
  parseNdjson,
  parseRfc3339,
  settlesWithin,
  type Json,
} from './test-helpers';
import { eventually } from '../support/eventually';
import { parseSse, postJson } from '../support/http';

jest.setTimeout(30_000);

const METRIC_FIELDS = [
  'total_duration',
  'load_duration',
  'prompt_eval_count',
  'prompt_eval_duration',
  'eval_count',
  'eval_duration',
] as const;

function expectNanosecondMetrics(chunk: Json): void {
  for (const field of METRIC_FIELDS) {
    expect(Number.isInteger(chunk[field])).toBe(true);
  }
  // Durations are nanoseconds: a request that took any time at all is far above 1000.
  expect(chunk['total_duration']).toBeGreaterThan(100_000);
  expect(chunk['load_duration']).toBeGreaterThan(100_000);
  expect(chunk['total_duration'] as number).toBeGreaterThanOrEqual(chunk['load_duration'] as number);
  expect(chunk['eval_count']).toBeGreaterThan(0);
  expect(chunk['eval_duration']).toBeGreaterThan(0);
}

async function psModels(emulator: OllamaEmulator): Promise<Json[]> {
  const res = await fetch(`${emulator.url}/api/ps`);
  const body = (await res.json()) as { models: Json[] };
  return body.models;
}

describe('OllamaEmulator', () => {
  let emulator: OllamaEmulator;

  afterEach(async () => {
    await emulator.stop();
  });

  describe('liveness, version and routing', () => {
    beforeEach(async () => {
      emulator = new OllamaEmulator();
      await emulator.start(0);
    });

    it('answers GET / with the plain-text liveness line', async () => {
      const res = await fetch(`${emulator.url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toBe('Ollama is running');
    });

    it('answers HEAD / with the same status and headers and no body', async () => {
      const res = await fetch(`${emulator.url}/`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.headers.get('content-length')).toBe('17');
      expect(await res.text()).toBe('');
    });

    it('reports the configured version on GET and HEAD /api/version', async () => {
      const res = await fetch(`${emulator.url}/api/version`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual({ version: '0.33.0' });
      emulator.configure({ version: '0.12.3' });
      expect(await (await fetch(`${emulator.url}/api/version`)).json()).toEqual({ version: '0.12.3' });
      const head = await fetch(`${emulator.url}/api/version`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    });

    it('answers an unknown path with a plain-text 404 and a wrong method with a plain-text 405', async () => {
      const missing = await fetch(`${emulator.url}/api/nothing-here`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toContain('text/plain');
      expect(await missing.text()).toBe('404 page not found');

      const wrongMethod = await fetch(`${emulator.url}/api/chat`);
      expect(wrongMethod.status).toBe(405);
      expect(await wrongMethod.text()).toBe('405 method not allowed');

      const headPs = await fetch(`${emulator.url}/api/ps`, { method: 'HEAD' });
      expect(headPs.status).toBe(405);
    });

    it('counts requests by endpoint and keeps the last request bodies', async () => {
      await fetch(`${emulator.url}/`);
      await fetch(`${emulator.url}/api/version`);
      await postJson(`${emulator.url}/api/chat`, {
        model: 'llama3.1',
        messages: [{ role: 'user', content: 'hi' }],
        keep_alive: '10m',
      });
      const stats = emulator.stats;
      expect(stats.requests).toMatchObject({ root: 1, version: 1, chat: 1 });
      expect(stats.keepAliveSeen).toEqual(['10m']);
      expect(stats.lastRequests.at(-1)).toEqual({
        endpoint: 'chat',
        method: 'POST',
        path: '/api/chat',
        body: { model: 'llama3.1', messages: [{ role: 'user', content: 'hi' }], keep_alive: '10m' },
        model: 'llama3.1',
        keepAlive: '10m',
        images: 0,
        status: 200,
        aborted: false,
      });
      emulator.resetStats();
      expect(emulator.stats.requests).toEqual({});
      expect(emulator.stats.lastRequests).toEqual([]);
    });
  });

  describe('model listing and details', () => {
    beforeEach(async () => {
      emulator = new OllamaEmulator({ models: ['llama3.1:latest', 'qwen2.5:0.5b'] });
      await emulator.start(0);
    });

    it('lists local models in /api/tags with the full ModelResponse shape', async () => {
      const res = await fetch(`${emulator.url}/api/tags`);
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
      emulator.configure({ models: [] });
      expect(await (await fetch(`${emulator.url}/api/tags`)).json()).toEqual({ models: [] });
      expect(await (await fetch(`${emulator.url}/api/ps`)).json()).toEqual({ models: [] });
    });

    it('shows a model with details, model_info and capabilities', async () => {
      const res = await postJson(`${emulator.url}/api/show`, { model: 'qwen2.5:0.5b' });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Json;
      expect(body['details']).toMatchObject({ family: 'qwen2', parameter_size: '494.03M' });
      expect(body['model_info']).toMatchObject({ 'general.architecture': 'qwen2', 'qwen2.context_length': 32768 });
      expect(body['capabilities']).toEqual(['completion', 'tools']);
      expect(typeof body['modelfile']).toBe('string');
      expect(body['modified_at']).toMatch(RFC3339_NANO);
    });

    it('rejects /api/show for an unknown model with the normalised name, and without a model', async () => {
      const missing = await postJson(`${emulator.url}/api/show`, { name: 'mistral' });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: "model 'mistral:latest' not found" });
      const noModel = await postJson(`${emulator.url}/api/show`, {});
      expect(noModel.status).toBe(400);
      expect(await noModel.json()).toEqual({ error: 'model is required' });
    });

    it('deletes a model with an empty 200 and 404s an unknown one', async () => {
      const res = await fetch(`${emulator.url}/api/delete`, {
        method: 'DELETE',
        body: JSON.stringify({ name: 'qwen2.5:0.5b' }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('');
      const { models } = (await (await fetch(`${emulator.url}/api/tags`)).json()) as { models: Json[] };
      expect(models.map((m) => m['name'])).toEqual(['llama3.1:latest']);

      const again = await fetch(`${emulator.url}/api/delete`, {
        method: 'DELETE',
        body: JSON.stringify({ model: 'qwen2.5:0.5b' }),
      });
      expect(again.status).toBe(404);
      expect(await again.json()).toEqual({ error: "model 'qwen2.5:0.5b' not found" });
    });

    it('lists models on /v1/models in the OpenAI shape', async () => {
      const res = await fetch(`${emulator.url}/v1/models`);
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
    beforeEach(async () => {
      emulator = new OllamaEmulator({ models: [], pullChunkDelayMs: 1, pullChunks: 3 });
      await emulator.start(0);
    });

    it('streams pull progress in Ollama order and adds the model to /api/tags', async () => {
      const res = await postJson(`${emulator.url}/api/pull`, { model: 'llama3.2' });
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

      const { models } = (await (await fetch(`${emulator.url}/api/tags`)).json()) as { models: Json[] };
      expect(models.map((m) => m['name'])).toEqual(['llama3.2:latest']);
    });

    it('accepts `name` (as ollama-js sends) and reports layers already on disk in one line', async () => {
      await (await postJson(`${emulator.url}/api/pull`, { name: 'qwen2.5:0.5b' })).text();
      const lines = parseNdjson(await (await postJson(`${emulator.url}/api/pull`, { name: 'qwen2.5:0.5b' })).text());
      const layerLines = lines.filter((l) => l['digest'] !== undefined);
      expect(layerLines).toHaveLength(2);
      for (const line of layerLines) {
        expect(line['completed']).toBe(line['total']);
      }
      expect(lines.at(-1)).toEqual({ status: 'success' });
    });

    it('answers a non-streamed pull with only the success object', async () => {
      const res = await postJson(`${emulator.url}/api/pull`, { model: 'qwen2.5:0.5b', stream: false });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'success' });
    });

    it('fails an unknown model after the manifest line when streaming, and with a 500 when not', async () => {
      const streamed = await postJson(`${emulator.url}/api/pull`, { model: 'no-such-model' });
      expect(streamed.status).toBe(200);
      expect(parseNdjson(await streamed.text())).toEqual([
        { status: 'pulling manifest' },
        { error: 'pull model manifest: file does not exist' },
      ]);

      const single = await postJson(`${emulator.url}/api/pull`, { model: 'no-such-model', stream: false });
      expect(single.status).toBe(500);
      expect(await single.json()).toEqual({ error: 'pull model manifest: file does not exist' });
      expect(await (await fetch(`${emulator.url}/api/tags`)).json()).toEqual({ models: [] });
    });

    it('rejects an invalid model name with 400', async () => {
      const res = await postJson(`${emulator.url}/api/pull`, { model: 'not a valid name!' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid model name' });
    });

    it('counts a pull whose client went away', async () => {
      emulator.configure({ pullChunkDelayMs: 200 });
      const controller = new AbortController();
      const res = await postJson(`${emulator.url}/api/pull`, { model: 'llama3.2' }, { signal: controller.signal });
      const reader = LineReader.of(res);
      expect(JSON.parse((await reader.next()) ?? '')).toEqual({ status: 'pulling manifest' });
      controller.abort();
      await eventually('the aborted pull to be counted', () => emulator.stats.abortedPulls === 1);
      expect(await (await fetch(`${emulator.url}/api/tags`)).json()).toEqual({ models: [] });
    });
  });

  describe('chat and generate', () => {
    beforeEach(async () => {
      emulator = new OllamaEmulator();
      await emulator.start(0);
    });

    it('streams NDJSON chat chunks ending with done and nanosecond metrics', async () => {
      const res = await postJson(`${emulator.url}/api/chat`, {
        model: 'llama3.1',
        messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson');
      const chunks = parseNdjson(await res.text());
      expect(chunks.length).toBeGreaterThan(2);
      for (const chunk of chunks) {
        expect(chunk['model']).toBe('llama3.1');
        expect(chunk['created_at']).toMatch(RFC3339_NANO_UTC);
        expect(chunk['message']).toEqual({ role: 'assistant', content: expect.any(String) });
      }
      const last = chunks.at(-1) as Json;
      expect(chunks.slice(0, -1).every((c) => c['done'] === false)).toBe(true);
      expect(last).toMatchObject({ done: true, done_reason: 'stop', message: { role: 'assistant', content: '' } });
      expectNanosecondMetrics(last);
      const text = chunks.map((c) => (c['message'] as { content: string }).content).join('');
      expect(text).toContain('Why is the sky blue?');
      expect(last['eval_count']).toBe(chunks.length - 1);
    });

    it('streams generate chunks with `response` and a final context', async () => {
      const res = await postJson(`${emulator.url}/api/generate`, {
        model: 'llama3.1:latest',
        prompt: 'Tell me a joke',
      });
      const chunks = parseNdjson(await res.text());
      for (const chunk of chunks) {
        expect(chunk['model']).toBe('llama3.1:latest');
        expect(typeof chunk['response']).toBe('string');
      }
      const last = chunks.at(-1) as Json;
      expect(last).toMatchObject({ done: true, done_reason: 'stop', response: '' });
      expect(Array.isArray(last['context'])).toBe(true);
      expectNanosecondMetrics(last);
    });

    it('returns one object with the concatenated text when stream is false', async () => {
      const streamed = parseNdjson(
        await (
          await postJson(`${emulator.url}/api/chat`, {
            model: 'llama3.1',
            messages: [{ role: 'user', content: 'Hello' }],
          })
        ).text(),
      );
      const expected = streamed.map((c) => (c['message'] as { content: string }).content).join('');

      const res = await postJson(`${emulator.url}/api/chat`, {
        model: 'llama3.1',
        stream: false,
        messages: [{ role: 'user', content: 'Hello' }],
      });
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = (await res.json()) as Json;
      expect(body).toMatchObject({
        model: 'llama3.1',
        done: true,
        done_reason: 'stop',
        message: { role: 'assistant', content: expected },
      });
      expectNanosecondMetrics(body);

      const gen = (await (
        await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'Hello', stream: false })
      ).json()) as Json;
      expect(gen['response']).toBe(expected);
    });

    it('uses replyText, and cuts the answer at num_predict with done_reason length', async () => {
      emulator.configure({ replyText: 'one two three four five six' });
      const full = (await (
        await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false })
      ).json()) as Json;
      expect(full).toMatchObject({ response: 'one two three four five six', done_reason: 'stop', eval_count: 6 });

      const cut = (await (
        await postJson(`${emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          options: { num_predict: 3 },
        })
      ).json()) as Json;
      expect(cut).toMatchObject({ response: 'one two three', done_reason: 'length', eval_count: 3 });

      emulator.configure({ replyText: (req) => `${req.endpoint}:${req.model}:${req.prompt}` });
      const fn = (await (
        await postJson(`${emulator.url}/api/chat`, {
          model: 'llama3.1',
          stream: false,
          messages: [{ role: 'user', content: 'ping' }],
        })
      ).json()) as { message: { content: string } };
      expect(fn.message.content).toBe('chat:llama3.1:ping');
    });

    it('returns JSON that conforms to the requested schema when format is set', async () => {
      const schema = {
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 3 },
          age: { type: 'integer', minimum: 18, maximum: 99 },
          score: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
          level: { enum: ['low', 'medium', 'high'] },
          tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
          active: { type: 'boolean' },
        },
        required: ['name', 'age', 'level'],
      };
      const body = (await (
        await postJson(`${emulator.url}/api/chat`, {
          model: 'llama3.1',
          stream: false,
          format: schema,
          messages: [{ role: 'user', content: 'x' }],
        })
      ).json()) as {
        message: { content: string };
      };
      const value = JSON.parse(body.message.content) as Json;
      expect(typeof value['name']).toBe('string');
      expect((value['name'] as string).length).toBeGreaterThanOrEqual(3);
      expect(Number.isInteger(value['age'])).toBe(true);
      expect(value['age']).toBeGreaterThanOrEqual(18);
      expect(value['age']).toBeLessThanOrEqual(99);
      expect(value['score']).toBeGreaterThan(0);
      expect(value['score']).toBeLessThanOrEqual(1);
      expect(value['level']).toBe('low');
      expect(value['tags']).toHaveLength(2);
      expect(value['active']).toBe(true);

      const json = (await (
        await postJson(`${emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          format: 'json',
        })
      ).json()) as Json;
      expect(() => JSON.parse(json['response'] as string) as unknown).not.toThrow();

      emulator.configure({ structuredReply: { risk: 'high', score: 80 } });
      const fixed = (await (
        await postJson(`${emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          format: schema,
        })
      ).json()) as Json;
      expect(JSON.parse(fixed['response'] as string)).toEqual({ risk: 'high', score: 80 });
    });

    it('rejects a format that is neither "json" nor an object with a 500', async () => {
      const res = await postJson(`${emulator.url}/api/chat`, {
        model: 'llama3.1',
        format: 'xml',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toEqual({
        error: 'invalid format: "\\"xml\\""; expected "json" or a valid JSON Schema object',
      });
    });

    it('loads the model on an empty prompt or empty messages with done_reason load', async () => {
      const gen = await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1' });
      expect(gen.status).toBe(200);
      expect(gen.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const genBody = (await gen.json()) as Json;
      expect(genBody).toEqual({
        model: 'llama3.1',
        created_at: expect.stringMatching(RFC3339_NANO_UTC),
        response: '',
        done: true,
        done_reason: 'load',
      });
      expect(emulator.residentModels()).toEqual(['llama3.1:latest']);

      const chat = (await (
        await postJson(`${emulator.url}/api/chat`, { model: 'llama3.1', messages: [] })
      ).json()) as Json;
      expect(chat).toEqual({
        model: 'llama3.1',
        created_at: expect.any(String),
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'load',
      });
      const noMessages = (await (await postJson(`${emulator.url}/api/chat`, { model: 'llama3.1' })).json()) as Json;
      expect(noMessages['done_reason']).toBe('load');
      expect(emulator.stats.loads).toBe(1);
    });

    it('unloads on an empty request with keep_alive 0 and answers done_reason unload', async () => {
      await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1' });
      expect(await psModels(emulator)).toHaveLength(1);
      const res = await postJson(`${emulator.url}/api/chat`, { model: 'llama3.1', messages: [], keep_alive: 0 });
      expect(await res.json()).toMatchObject({
        done: true,
        done_reason: 'unload',
        message: { role: 'assistant', content: '' },
      });
      await eventually('the model to leave /api/ps', async () => (await psModels(emulator)).length === 0);
      expect(emulator.stats.unloads).toBe(1);

      const notLoaded = await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '0' });
      expect(await notLoaded.json()).toMatchObject({ done_reason: 'unload', response: '' });
      expect(emulator.stats.loads).toBe(1);
    });

    it('maps request errors to Ollama statuses and messages', async () => {
      const cases: Array<[string, string, number, string]> = [
        ['/api/chat', '', 400, 'missing request body'],
        ['/api/generate', '   ', 400, 'missing request body'],
        ['/api/chat', '{"model":', 400, 'unexpected EOF'],
        ['/api/chat', 'xyz', 400, "invalid character 'x' looking for beginning of value"],
        ['/api/chat', '{"model":"llama3.1",}', 400, "invalid character '}' looking for beginning of object key string"],
        [
          '/api/generate',
          '{"model":"llama3.1","stream":"yes"}',
          400,
          'json: cannot unmarshal string into Go struct field GenerateRequest.stream of type bool',
        ],
        ['/api/chat', '{"messages":[{"role":"user","content":"x"}]}', 400, 'model is required'],
        ['/api/generate', '{"prompt":"x"}', 404, "model '' not found"],
        [
          '/api/chat',
          '{"model":"mistral","messages":[{"role":"user","content":"x"}]}',
          404,
          "model 'mistral' not found",
        ],
        ['/api/generate', '{"model":"mistral:7b","prompt":"x"}', 404, "model 'mistral:7b' not found"],
        [
          '/api/generate',
          '{"model":"llama3.1","prompt":"x","think":true}',
          400,
          '"llama3.1" does not support thinking',
        ],
        [
          '/api/generate',
          '{"model":"llama3.1","prompt":"x","think":"extreme"}',
          400,
          'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)',
        ],
        [
          '/api/chat',
          '{"model":"llama3.1","messages":[],"options":{"temperature":"hot"}}',
          500,
          'option "temperature" must be of type float32',
        ],
      ];
      for (const [path, body, status, message] of cases) {
        const res = await fetch(`${emulator.url}${path}`, { method: 'POST', body });
        expect({ path, body, status: res.status, json: await res.json() }).toEqual({
          path,
          body,
          status,
          json: { error: message },
        });
      }
      expect(emulator.stats.loads).toBe(0);
    });

    it('echoes the model name exactly as requested', async () => {
      for (const model of ['llama3.1', 'llama3.1:latest', 'library/llama3.1', 'LLAMA3.1']) {
        const body = (await (
          await postJson(`${emulator.url}/api/generate`, { model, prompt: 'x', stream: false })
        ).json()) as Json;
        expect(body['model']).toBe(model);
      }
    });
  });

  describe('keep_alive and residency', () => {
    beforeEach(async () => {
      emulator = new OllamaEmulator({ models: ['llama3.1:latest', 'qwen2.5:0.5b'] });
      await emulator.start(0);
    });

    it('accepts keep_alive as seconds or a Go duration and rejects unitless strings and other types', async () => {
      const accepted: unknown[] = [300, 1.5, -1, 0.25, '10m', '1h30m', '300ms', '-1m', '0', '24h', null];
      for (const keepAlive of accepted) {
        const res = await postJson(`${emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          keep_alive: keepAlive,
        });
        expect({ keepAlive, status: res.status }).toEqual({ keepAlive, status: 200 });
        await res.text();
      }
      const rejected: Array<[unknown, string]> = [
        ['-1', 'time: missing unit in duration "-1"'],
        ['300', 'time: missing unit in duration "300"'],
        ['5 minutes', 'time: unknown unit " minutes" in duration "5 minutes"'],
        ['abc', 'time: invalid duration "abc"'],
        [true, "Unsupported type: 'bool'"],
        [[1], "Unsupported type: '[]interface {}'"],
        [{ s: 1 }, "Unsupported type: 'map[string]interface {}'"],
      ];
      for (const [keepAlive, message] of rejected) {
        const res = await postJson(`${emulator.url}/api/chat`, {
          model: 'llama3.1',
          messages: [{ role: 'user', content: 'x' }],
          keep_alive: keepAlive,
        });
        expect({ keepAlive, status: res.status, body: await res.json() }).toEqual({
          keepAlive,
          status: 400,
          body: { error: message },
        });
      }
      expect(emulator.stats.keepAliveSeen).toEqual([...accepted, ...rejected.map(([value]) => value)]);
    });

    it('shows a loaded model in /api/ps with expires_at = finish + keep_alive in local RFC3339', async () => {
      const before = Date.now();
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '10m' })).text();
      const after = Date.now();
      const [model, ...others] = await psModels(emulator);
      expect(others).toEqual([]);
      expect(model).toMatchObject({
        name: 'llama3.1:latest',
        model: 'llama3.1:latest',
        digest: expect.stringMatching(/^[0-9a-f]{64}$/),
        details: expect.objectContaining({ family: 'llama', format: 'gguf' }),
        context_length: 4096,
      });
      expect(model?.['size_vram']).toBe(model?.['size']);
      expect(model?.['expires_at']).toMatch(RFC3339_NANO);
      const expires = parseRfc3339(model?.['expires_at'] as string);
      expect(expires).toBeGreaterThanOrEqual(before + 600_000 - 5);
      expect(expires).toBeLessThanOrEqual(after + 600_000 + 5);
    });

    it('keeps a model with a negative keep_alive forever (expires_at about 292 years ahead)', async () => {
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: -1 })).text();
      const [model] = await psModels(emulator);
      const year = new Date(parseRfc3339(model?.['expires_at'] as string)).getUTCFullYear();
      expect(year).toBeGreaterThanOrEqual(new Date().getUTCFullYear() + 292);
      expect(year).toBeLessThanOrEqual(new Date().getUTCFullYear() + 293);
    });

    it('unloads a model when a short keep_alive runs out after the last request', async () => {
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '300ms' })).text();
      expect(emulator.residentModels()).toEqual(['llama3.1:latest']);
      await eventually('the keep-alive to expire', () => emulator.residentModels().length === 0);
      expect(await psModels(emulator)).toEqual([]);
      expect(emulator.stats).toMatchObject({ loads: 1, unloads: 1 });
    });

    it('starts the countdown only when the last active request finishes', async () => {
      emulator.configure({ tokenDelayMs: 100, replyText: 'a b c d e f g h' });
      const started = Date.now();
      const res = await postJson(`${emulator.url}/api/generate`, {
        model: 'llama3.1',
        prompt: 'x',
        keep_alive: '200ms',
      });
      await res.text();
      const finished = Date.now();
      // The request took ~800 ms, far beyond the 200 ms keep-alive, and the model is still there.
      expect(finished - started).toBeGreaterThanOrEqual(700);
      const [model] = await psModels(emulator);
      expect(model?.['name']).toBe('llama3.1:latest');
      expect(parseRfc3339(model?.['expires_at'] as string)).toBeGreaterThanOrEqual(finished - 200);
      await eventually('the keep-alive to expire', () => emulator.residentModels().length === 0);
    });

    it('overwrites the resident keep_alive only when a request carries one', async () => {
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: -1 })).text();
      await (
        await postJson(`${emulator.url}/api/chat`, {
          model: 'llama3.1',
          stream: false,
          messages: [{ role: 'user', content: 'x' }],
        })
      ).text();
      const [forever] = await psModels(emulator);
      expect(new Date(parseRfc3339(forever?.['expires_at'] as string)).getUTCFullYear()).toBeGreaterThan(2300);

      await (
        await postJson(`${emulator.url}/api/chat`, {
          model: 'llama3.1',
          stream: false,
          keep_alive: '300ms',
          messages: [{ role: 'user', content: 'x' }],
        })
      ).text();
      const [short] = await psModels(emulator);
      expect(parseRfc3339(short?.['expires_at'] as string)).toBeLessThan(Date.now() + 5_000);
      await eventually('the new keep-alive to expire', () => emulator.residentModels().length === 0);
    });

    it('uses the server default keep-alive when a load request carries none', async () => {
      emulator.configure({ defaultKeepAlive: '400ms' });
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1' })).text();
      const [model] = await psModels(emulator);
      expect(parseRfc3339(model?.['expires_at'] as string)).toBeLessThan(Date.now() + 2_000);
      await eventually('the default keep-alive to expire', () => emulator.residentModels().length === 0);
    });

    it('unloads right after a request that did work with keep_alive 0', async () => {
      const body = (await (
        await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false, keep_alive: 0 })
      ).json()) as Json;
      expect(body['done_reason']).toBe('stop');
      await eventually('the model to unload', () => emulator.residentModels().length === 0);
      expect(emulator.stats.unloads).toBe(1);
    });

    it('sorts /api/ps by the latest expiry first', async () => {
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '10m' })).text();
      await (await postJson(`${emulator.url}/api/generate`, { model: 'qwen2.5:0.5b', keep_alive: '2h' })).text();
      expect((await psModels(emulator)).map((m) => m['name'])).toEqual(['qwen2.5:0.5b', 'llama3.1:latest']);
    });

    it('pays the load time on a cold load only, and reports it in load_duration', async () => {
      emulator.configure({ loadTimeMs: 400 });
      const cold = (await (
        await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false })
      ).json()) as Json;
      const warm = (await (
        await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false })
      ).json()) as Json;
      expect(cold['load_duration']).toBeGreaterThanOrEqual(400_000_000);
      expect(warm['load_duration']).toBeGreaterThan(0);
      expect(warm['load_duration']).toBeLessThan(200_000_000);
      expect(emulator.stats.loads).toBe(1);
    });

    it('reloads the model when a request asks for another num_ctx', async () => {
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', options: { num_ctx: 8192 } })).text();
      expect((await psModels(emulator))[0]?.['context_length']).toBe(8192);
      await (
        await postJson(`${emulator.url}/api/chat`, {
          model: 'llama3.1',
          stream: false,
          messages: [{ role: 'user', content: 'x' }],
          options: { num_ctx: 8192 },
        })
      ).text();
      expect(emulator.stats).toMatchObject({ loads: 1, unloads: 0 });
      await (
        await postJson(`${emulator.url}/api/chat`, {
          model: 'llama3.1',
          stream: false,
          messages: [{ role: 'user', content: 'x' }],
        })
      ).text();
      expect(emulator.stats).toMatchObject({ loads: 2, unloads: 1 });
      expect((await psModels(emulator))[0]?.['context_length']).toBe(4096);
    });

    it('lists a loading model in /api/ps before it is resident', async () => {
      emulator.configure({ loadTimeMs: 1_000 });
      const pending = postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '10m' });
      await eventually('the loading model to be listed', async () => (await psModels(emulator)).length === 1);
      expect(emulator.residentModels()).toEqual([]);
      expect((await (await pending).json()) as Json).toMatchObject({ done_reason: 'load' });
      expect(emulator.residentModels()).toEqual(['llama3.1:latest']);
    });

    it('evicts every model on unloadAll()', async () => {
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: -1 })).text();
      emulator.unloadAll();
      expect(await psModels(emulator)).toEqual([]);
      expect(emulator.stats.unloads).toBe(1);
    });
  });

  describe('concurrency and client disconnects', () => {
    beforeEach(async () => {
      emulator = new OllamaEmulator({ replyText: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ') });
      await emulator.start(0);
    });

    it('counts simultaneous inference requests and serves one at a time per model by default', async () => {
      emulator.configure({ tokenDelayMs: 20 });
      const run = async (): Promise<{ firstByteAt: number; doneAt: number }> => {
        const res = await postJson(`${emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          options: { num_predict: 5 },
        });
        const reader = LineReader.of(res);
        await reader.next();
        const firstByteAt = Date.now();
        while ((await reader.next()) !== undefined) {
          // drain
        }
        return { firstByteAt, doneAt: Date.now() };
      };
      const results = await Promise.all([run(), run(), run()]);
      expect(emulator.stats.maxConcurrentInference).toBe(3);
      expect(emulator.stats.inFlight).toBe(0);
      // With one parallel slot, a request starts streaming only after the previous one finished.
      const ordered = [...results].sort((a, b) => a.firstByteAt - b.firstByteAt);
      for (let i = 1; i < ordered.length; i++) {
        expect(ordered[i]?.firstByteAt).toBeGreaterThanOrEqual((ordered[i - 1]?.doneAt ?? 0) - 5);
      }
    });

    it('serves requests to one model side by side when numParallel is 0 (unlimited)', async () => {
      emulator.configure({ tokenDelayMs: 100, numParallel: 0 });
      const readers = await Promise.all(
        [1, 2].map(async () =>
          LineReader.of(
            await postJson(`${emulator.url}/api/generate`, {
              model: 'llama3.1',
              prompt: 'x',
              options: { num_predict: 10 },
            }),
          ),
        ),
      );
      // Both stream their first token while neither has finished.
      const firsts = await Promise.all(readers.map((reader) => reader.next()));
      expect(firsts.every((line) => JSON.parse(line ?? '{}').done === false)).toBe(true);
      expect(emulator.stats.inFlight).toBe(2);
      for (const reader of readers) {
        while ((await reader.next()) !== undefined) {
          // drain
        }
      }
      expect(emulator.stats.loads).toBe(1);
    });

    it('stops generating when the client disconnects mid-stream and counts the aborted stream', async () => {
      emulator.configure({ tokenDelayMs: 50 });
      const controller = new AbortController();
      const res = await postJson(
        `${emulator.url}/api/chat`,
        { model: 'llama3.1', messages: [{ role: 'user', content: 'x' }] },
        { signal: controller.signal },
      );
      const reader = LineReader.of(res);
      expect(JSON.parse((await reader.next()) ?? '')).toMatchObject({ done: false });
      expect(emulator.stats.inFlight).toBe(1);
      controller.abort();
      await eventually(
        'the abort to be counted',
        () => emulator.stats.abortedStreams === 1 && emulator.stats.inFlight === 0,
      );

      // 200 tokens at 50 ms would hold the only slot for 10 s; a freed slot serves the next request at once.
      const started = Date.now();
      const next = (await (
        await postJson(`${emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          options: { num_predict: 1 },
        })
      ).json()) as Json;
      expect(next['done']).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('abandons a load when its only client leaves before the model is ready', async () => {
      emulator.configure({ loadTimeMs: 2_000 });
      const controller = new AbortController();
      const pending = postJson(
        `${emulator.url}/api/generate`,
        { model: 'llama3.1' },
        { signal: controller.signal },
      ).catch((err: unknown) => err);
      await eventually('the request to arrive', () => emulator.stats.inFlight === 1);
      controller.abort();
      await pending;
      await eventually('the load to be abandoned', () => emulator.stats.abandonedLoads === 1);
      expect(emulator.stats).toMatchObject({ loads: 0, abortedStreams: 1 });
      expect(await psModels(emulator)).toEqual([]);
    });
  });

  describe('OpenAI-compatible chat completions', () => {
    beforeEach(async () => {
      emulator = new OllamaEmulator({ replyText: 'Hello from the model' });
      await emulator.start(0);
    });

    it('answers with a chat.completion object and usage when stream is not set', async () => {
      const res = await postJson(`${emulator.url}/v1/chat/completions`, {
        model: 'llama3.1',
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      const body = (await res.json()) as Json;
      expect(body).toEqual({
        id: expect.stringMatching(/^chatcmpl-\d{1,3}$/),
        object: 'chat.completion',
        created: expect.any(Number),
        model: 'llama3.1',
        system_fingerprint: 'fp_ollama',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the model' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: expect.any(Number), completion_tokens: 4, total_tokens: expect.any(Number) },
      });
      const usage = body['usage'] as { prompt_tokens: number; total_tokens: number };
      expect(usage.total_tokens).toBe(usage.prompt_tokens + 4);
    });

    it('streams SSE chunks: role first, content deltas, an empty finish delta, usage, then [DONE]', async () => {
      const res = await postJson(`${emulator.url}/v1/chat/completions`, {
        model: 'llama3.1',
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 3,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const text = await res.text();
      // Ollama frames every event as one `data:` line and a blank line, nothing else.
      expect(text).toMatch(/^(data: [^\n]+\n\n)+$/);
      const events = parseSse(text);
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Json);
      const ids = new Set(chunks.map((c) => c['id']));
      const created = new Set(chunks.map((c) => c['created']));
      expect(ids.size).toBe(1);
      expect(created.size).toBe(1);
      expect(chunks.every((c) => c['object'] === 'chat.completion.chunk')).toBe(true);

      const [first, second, third, finish, usage] = chunks;
      expect(first?.['choices']).toEqual([
        { index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null },
      ]);
      expect(second?.['choices']).toEqual([{ index: 0, delta: { content: ' from' }, finish_reason: null }]);
      expect(third?.['choices']).toEqual([{ index: 0, delta: { content: ' the' }, finish_reason: null }]);
      expect(finish?.['choices']).toEqual([{ index: 0, delta: {}, finish_reason: 'length' }]);
      expect(usage?.['choices']).toEqual([]);
      expect(usage?.['usage']).toMatchObject({ completion_tokens: 3 });
      expect(chunks).toHaveLength(5);
    });

    it('uses the OpenAI error shape for empty messages and unknown models', async () => {
      const empty = await postJson(`${emulator.url}/v1/chat/completions`, { model: 'llama3.1', messages: [] });
      expect(empty.status).toBe(400);
      expect(await empty.json()).toEqual({
        error: { message: "[] is too short - 'messages'", type: 'invalid_request_error', param: null, code: null },
      });

      const unknown = await postJson(`${emulator.url}/v1/chat/completions`, {
        model: 'gpt-4',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({
        error: { message: "model 'gpt-4' not found", type: 'not_found_error', param: null, code: null },
      });
    });

    it('ignores keep_alive on /v1 requests', async () => {
      await (await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: -1 })).text();
      await (
        await postJson(`${emulator.url}/v1/chat/completions`, {
          model: 'llama3.1',
          keep_alive: 0,
          messages: [{ role: 'user', content: 'x' }],
        })
      ).text();
      expect(emulator.residentModels()).toEqual(['llama3.1:latest']);
      expect(emulator.stats.keepAliveSeen).toEqual([-1, 0]);
    });
  });

  describe('lifecycle', () => {
    it('stops idempotently, cutting open streams, and several emulators run side by side', async () => {
      emulator = new OllamaEmulator({ tokenDelayMs: 200 });
      const other = new OllamaEmulator({ version: '9.9.9', models: [] });
      await emulator.start(0);
      await other.start(0);
      expect(emulator.port).not.toBe(other.port);
      expect(await (await fetch(`${other.url}/api/version`)).json()).toEqual({ version: '9.9.9' });
      expect(await (await fetch(`${other.url}/api/tags`)).json()).toEqual({ models: [] });

      const res = await postJson(`${emulator.url}/api/chat`, {
        model: 'llama3.1',
        messages: [{ role: 'user', content: 'x' }],
      });
      const reader = LineReader.of(res);
      expect(await reader.next()).toBeDefined();
      const rest = (async () => {
        while ((await reader.next()) !== undefined) {
          // drain until the connection is cut
        }
      })().catch((err: unknown) => err);
      const url = emulator.url;
      await emulator.stop();
      await emulator.stop();
      expect(await settlesWithin(rest, 5_000)).not.toBe('timeout');
      await expect(fetch(`${url}/api/version`)).rejects.toThrow();
      expect(emulator.stats.abortedStreams).toBe(0);
      await other.stop();
    });

    it('exports the exact busy text with two spaces', () => {
      expect(BUSY_MESSAGE).toBe('server busy, please try again.  maximum pending requests exceeded');
    });
  });
});

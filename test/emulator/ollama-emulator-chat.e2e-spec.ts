import { OllamaEmulator } from './ollama-emulator';
import { RFC3339_NANO_UTC, parseNdjson, psModels, type Json, useEmulator } from './test-helpers';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';

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

describe('OllamaEmulator', () => {
  const h = useEmulator();

  describe('chat and generate', () => {
    h.startEach(() => new OllamaEmulator());

    it('streams NDJSON chat chunks ending with done and nanosecond metrics', async () => {
      const res = await postJson(`${h.emulator.url}/api/chat`, {
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
      const res = await postJson(`${h.emulator.url}/api/generate`, {
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
          await postJson(`${h.emulator.url}/api/chat`, {
            model: 'llama3.1',
            messages: [{ role: 'user', content: 'Hello' }],
          })
        ).text(),
      );
      const expected = streamed.map((c) => (c['message'] as { content: string }).content).join('');

      const res = await postJson(`${h.emulator.url}/api/chat`, {
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
        await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'Hello', stream: false })
      ).json()) as Json;
      expect(gen['response']).toBe(expected);
    });

    it('uses replyText, and cuts the answer at num_predict with done_reason length', async () => {
      h.emulator.configure({ replyText: 'one two three four five six' });
      const full = (await (
        await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false })
      ).json()) as Json;
      expect(full).toMatchObject({ response: 'one two three four five six', done_reason: 'stop', eval_count: 6 });

      const cut = (await (
        await postJson(`${h.emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          options: { num_predict: 3 },
        })
      ).json()) as Json;
      expect(cut).toMatchObject({ response: 'one two three', done_reason: 'length', eval_count: 3 });

      h.emulator.configure({ replyText: (req) => `${req.endpoint}:${req.model}:${req.prompt}` });
      const fn = (await (
        await postJson(`${h.emulator.url}/api/chat`, {
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
        await postJson(`${h.emulator.url}/api/chat`, {
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
        await postJson(`${h.emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          format: 'json',
        })
      ).json()) as Json;
      expect(() => JSON.parse(json['response'] as string) as unknown).not.toThrow();

      h.emulator.configure({ structuredReply: { risk: 'high', score: 80 } });
      const fixed = (await (
        await postJson(`${h.emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          format: schema,
        })
      ).json()) as Json;
      expect(JSON.parse(fixed['response'] as string)).toEqual({ risk: 'high', score: 80 });
    });

    it('rejects a format that is neither "json" nor an object with a 500', async () => {
      const res = await postJson(`${h.emulator.url}/api/chat`, {
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
      const gen = await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1' });
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
      expect(h.emulator.residentModels()).toEqual(['llama3.1:latest']);

      const chat = (await (
        await postJson(`${h.emulator.url}/api/chat`, { model: 'llama3.1', messages: [] })
      ).json()) as Json;
      expect(chat).toEqual({
        model: 'llama3.1',
        created_at: expect.any(String),
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'load',
      });
      const noMessages = (await (await postJson(`${h.emulator.url}/api/chat`, { model: 'llama3.1' })).json()) as Json;
      expect(noMessages['done_reason']).toBe('load');
      expect(h.emulator.stats.loads).toBe(1);
    });

    it('unloads on an empty request with keep_alive 0 and answers done_reason unload', async () => {
      await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1' });
      expect(await psModels(h.emulator)).toHaveLength(1);
      const res = await postJson(`${h.emulator.url}/api/chat`, { model: 'llama3.1', messages: [], keep_alive: 0 });
      expect(await res.json()).toMatchObject({
        done: true,
        done_reason: 'unload',
        message: { role: 'assistant', content: '' },
      });
      await eventually('the model to leave /api/ps', async () => (await psModels(h.emulator)).length === 0);
      expect(h.emulator.stats.unloads).toBe(1);

      const notLoaded = await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '0' });
      expect(await notLoaded.json()).toMatchObject({ done_reason: 'unload', response: '' });
      expect(h.emulator.stats.loads).toBe(1);
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
        const res = await fetch(`${h.emulator.url}${path}`, { method: 'POST', body });
        expect({ path, body, status: res.status, json: await res.json() }).toEqual({
          path,
          body,
          status,
          json: { error: message },
        });
      }
      expect(h.emulator.stats.loads).toBe(0);
    });

    it('echoes the model name exactly as requested', async () => {
      for (const model of ['llama3.1', 'llama3.1:latest', 'library/llama3.1', 'LLAMA3.1']) {
        const body = (await (
          await postJson(`${h.emulator.url}/api/generate`, { model, prompt: 'x', stream: false })
        ).json()) as Json;
        expect(body['model']).toBe(model);
      }
    });
  });
});

import { OllamaEmulator } from './ollama-emulator';
import { type Json, useEmulator } from './test-helpers';
import { parseSse, postJson } from '../support/http';

jest.setTimeout(30_000);

describe('OllamaEmulator', () => {
  const h = useEmulator();

  describe('OpenAI-compatible chat completions', () => {
    h.startEach(() => new OllamaEmulator({ replyText: 'Hello from the model' }));

    it('answers with a chat.completion object and usage when stream is not set', async () => {
      const res = await postJson(`${h.emulator.url}/v1/chat/completions`, {
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
      const res = await postJson(`${h.emulator.url}/v1/chat/completions`, {
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
      const empty = await postJson(`${h.emulator.url}/v1/chat/completions`, { model: 'llama3.1', messages: [] });
      expect(empty.status).toBe(400);
      expect(await empty.json()).toEqual({
        error: { message: "[] is too short - 'messages'", type: 'invalid_request_error', param: null, code: null },
      });

      const unknown = await postJson(`${h.emulator.url}/v1/chat/completions`, {
        model: 'gpt-4',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({
        error: { message: "model 'gpt-4' not found", type: 'not_found_error', param: null, code: null },
      });
    });

    it('ignores keep_alive on /v1 requests', async () => {
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: -1 })).text();
      await (
        await postJson(`${h.emulator.url}/v1/chat/completions`, {
          model: 'llama3.1',
          keep_alive: 0,
          messages: [{ role: 'user', content: 'x' }],
        })
      ).text();
      expect(h.emulator.residentModels()).toEqual(['llama3.1:latest']);
      expect(h.emulator.stats.keepAliveSeen).toEqual([-1, 0]);
    });
  });
});

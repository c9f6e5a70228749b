import { BUSY_MESSAGE, OllamaEmulator } from './ollama-emulator';
import { eventually } from '../support/eventually';
import { parseSse, postJson } from '../support/http';
import { LineReader, parseNdjson, settlesWithin, type Json } from './test-helpers';

jest.setTimeout(30_000);

const chatBody = { model: 'llama3.1', messages: [{ role: 'user', content: 'Hello there' }] };

describe('OllamaEmulator fault injection', () => {
  let emulator: OllamaEmulator;

  beforeEach(async () => {
    emulator = new OllamaEmulator({ pullChunkDelayMs: 1 });
    await emulator.start(0);
  });

  afterEach(async () => {
    await emulator.stop();
  });

  it('http-error answers with the given status and message, 500 by default', async () => {
    emulator.injectFault({ kind: 'http-error', times: 1 });
    const first = await postJson(`${emulator.url}/api/chat`, chatBody);
    expect(first.status).toBe(500);
    expect(first.headers.get('content-type')).toContain('application/json');
    expect(await first.json()).toEqual({ error: expect.any(String) });

    emulator.injectFault({ kind: 'http-error', status: 429, message: 'slow down', times: 1 });
    const second = await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x' });
    expect(second.status).toBe(429);
    expect(await second.json()).toEqual({ error: 'slow down' });

    const healthy = await postJson(`${emulator.url}/api/chat`, { ...chatBody, stream: false });
    expect(healthy.status).toBe(200);
    expect(emulator.stats.requests['chat']).toBe(2);
  });

  it('busy answers 503 with the exact two-space text', async () => {
    emulator.injectFault({ kind: 'busy' });
    const res = await postJson(`${emulator.url}/api/chat`, chatBody);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: string };
    expect(body.error).toBe('server busy, please try again.  maximum pending requests exceeded');
    expect(body.error).toBe(BUSY_MESSAGE);
    expect(body.error).toContain('.  maximum');
  });

  it('hang accepts the request and never answers until the client goes away', async () => {
    emulator.injectFault({ kind: 'hang', times: 1 });
    const controller = new AbortController();
    const pending = postJson(`${emulator.url}/api/chat`, chatBody, { signal: controller.signal }).catch(
      (err: unknown) => err,
    );
    await eventually('the request to arrive', () => emulator.stats.inFlight === 1);
    expect(await settlesWithin(pending, 500)).toBe('timeout');
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await eventually('the hung request to end', () => emulator.stats.inFlight === 0);
    expect(emulator.stats.abortedStreams).toBe(1);
    expect(emulator.stats.loads).toBe(0);

    const after = await postJson(`${emulator.url}/api/chat`, { ...chatBody, stream: false });
    expect(after.status).toBe(200);
  });

  it('hang-after-first-chunk sends one chunk and then nothing', async () => {
    emulator.injectFault({ kind: 'hang-after-first-chunk' });
    const controller = new AbortController();
    const res = await postJson(`${emulator.url}/api/chat`, chatBody, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = LineReader.of(res);
    const first = JSON.parse((await reader.next()) ?? '') as Json;
    expect(first).toMatchObject({ done: false, message: { role: 'assistant' } });
    expect(await settlesWithin(reader.next(), 500)).toBe('timeout');
    controller.abort();
    await eventually('the abort to be counted', () => emulator.stats.abortedStreams === 1);
  });

  it('mid-stream-error keeps status 200 and ends with an error line and no done', async () => {
    emulator.injectFault({
      kind: 'mid-stream-error',
      afterChunks: 2,
      message: 'an error was encountered while running the model',
    });
    const res = await postJson(`${emulator.url}/api/chat`, chatBody);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = parseNdjson(await res.text());
    expect(lines).toHaveLength(3);
    expect(lines.slice(0, 2).every((l) => l['done'] === false)).toBe(true);
    expect(lines[2]).toEqual({ error: 'an error was encountered while running the model' });
    expect(lines.some((l) => l['done'] === true)).toBe(false);
  });

  it('mid-stream-error on a non-streamed request is a 500 error object', async () => {
    emulator.injectFault({ kind: 'mid-stream-error', message: 'runner crashed' });
    const res = await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'runner crashed' });
  });

  it('invalid-structured-output returns content that is not the requested JSON', async () => {
    emulator.injectFault({ kind: 'invalid-structured-output' });
    const schema = { type: 'object', properties: { score: { type: 'integer' } }, required: ['score'] };
    const res = await postJson(`${emulator.url}/api/chat`, { ...chatBody, stream: false, format: schema });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { message: { content: string }; done: boolean };
    expect(body.done).toBe(true);
    expect(() => JSON.parse(body.message.content) as unknown).toThrow();
  });

  it('drop-connection destroys the socket before answering, without counting a client abort', async () => {
    emulator.injectFault({ kind: 'drop-connection', times: 1 });
    await expect(postJson(`${emulator.url}/api/chat`, chatBody)).rejects.toThrow();
    await eventually('the dropped request to end', () => emulator.stats.inFlight === 0);
    expect(emulator.stats.abortedStreams).toBe(0);
    expect(emulator.stats.requests['chat']).toBe(1);
  });

  it('targets only the listed endpoints, chat and generate by default', async () => {
    emulator.injectFault({ kind: 'http-error', status: 502, endpoints: ['tags', 'version'] });
    expect((await fetch(`${emulator.url}/api/tags`)).status).toBe(502);
    expect((await fetch(`${emulator.url}/api/version`)).status).toBe(502);
    expect((await postJson(`${emulator.url}/api/chat`, { ...chatBody, stream: false })).status).toBe(200);
    emulator.clearFaults();
    expect((await fetch(`${emulator.url}/api/tags`)).status).toBe(200);

    emulator.injectFault({ kind: 'busy' });
    expect((await fetch(`${emulator.url}/api/ps`)).status).toBe(200);
    expect((await postJson(`${emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x' })).status).toBe(503);
  });

  it('applies faults in the order injected and consumes those with times', async () => {
    emulator.injectFault({ kind: 'busy', times: 1 });
    emulator.injectFault({ kind: 'http-error', status: 500, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await postJson(`${emulator.url}/api/chat`, { ...chatBody, stream: false });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([503, 500, 500, 200]);
  });

  it('fails a pull mid-stream with an error line and no success', async () => {
    emulator.configure({ models: [] });
    emulator.injectFault({
      kind: 'mid-stream-error',
      afterChunks: 3,
      message: 'max retries exceeded: EOF',
      endpoints: ['pull'],
    });
    const res = await postJson(`${emulator.url}/api/pull`, { model: 'llama3.2' });
    expect(res.status).toBe(200);
    const lines = parseNdjson(await res.text());
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    expect(lines[3]).toEqual({ error: 'max retries exceeded: EOF' });
    expect(lines.some((l) => l['status'] === 'success')).toBe(false);
    expect(await (await fetch(`${emulator.url}/api/tags`)).json()).toEqual({ models: [] });
  });

  it('uses the OpenAI error shape for faults on /v1/chat/completions', async () => {
    emulator.injectFault({ kind: 'busy', endpoints: ['openai-chat'], times: 1 });
    const res = await postJson(`${emulator.url}/v1/chat/completions`, chatBody);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { message: BUSY_MESSAGE, type: 'api_error', param: null, code: null } });

    emulator.injectFault({ kind: 'mid-stream-error', afterChunks: 1, endpoints: ['openai-chat'], times: 1 });
    const streamed = await postJson(`${emulator.url}/v1/chat/completions`, { ...chatBody, stream: true });
    expect(streamed.status).toBe(200);
    const events = parseSse(await streamed.text());
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[1] ?? '')).toMatchObject({ error: { type: 'api_error' } });
    expect(events).not.toContain('[DONE]');
  });

  describe('remote control', () => {
    it('reads stats, configures, injects and clears faults, and resets stats over HTTP', async () => {
      const control = `${emulator.url}/__emulator`;
      await postJson(`${emulator.url}/api/chat`, { ...chatBody, stream: false, keep_alive: '1m' });

      const stats = (await (await fetch(`${control}/stats`)).json()) as Json;
      expect(stats).toMatchObject({ requests: { chat: 1 }, loads: 1, keepAliveSeen: ['1m'] });

      const configured = await postJson(`${control}/configure`, {
        models: ['qwen2.5:0.5b'],
        version: '1.2.3',
        replyText: 'fixed reply',
      });
      expect(configured.status).toBe(200);
      expect(await (await fetch(`${emulator.url}/api/version`)).json()).toEqual({ version: '1.2.3' });
      const tags = (await (await fetch(`${emulator.url}/api/tags`)).json()) as { models: Json[] };
      expect(tags.models.map((m) => m['name'])).toEqual(['qwen2.5:0.5b']);
      const reply = (await (
        await postJson(`${emulator.url}/api/generate`, { model: 'qwen2.5:0.5b', prompt: 'x', stream: false })
      ).json()) as Json;
      expect(reply['response']).toBe('fixed reply');

      const rejected = await postJson(`${control}/configure`, { models: ['not a model name!'] });
      expect(rejected.status).toBe(400);
      expect(emulator.options.models).toEqual(['qwen2.5:0.5b']);

      expect((await postJson(`${control}/faults`, { kind: 'busy', endpoints: ['version'] })).status).toBe(200);
      expect((await fetch(`${emulator.url}/api/version`)).status).toBe(503);
      expect((await postJson(`${control}/faults`, { kind: 'explode' })).status).toBe(400);
      expect((await fetch(`${control}/faults`, { method: 'DELETE' })).status).toBe(200);
      expect((await fetch(`${emulator.url}/api/version`)).status).toBe(200);

      expect((await postJson(`${control}/unload-all`, {})).status).toBe(200);
      expect(emulator.residentModels()).toEqual([]);

      expect((await postJson(`${control}/reset-stats`, {})).status).toBe(200);
      const reset = (await (await fetch(`${control}/stats`)).json()) as Json;
      expect(reset).toMatchObject({ requests: {}, loads: 0, unloads: 0, keepAliveSeen: [], lastRequests: [] });
      expect((await fetch(`${control}/nothing`)).status).toBe(404);
    });
  });
});

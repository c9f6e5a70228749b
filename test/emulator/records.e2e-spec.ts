import { eventually } from '../support/eventually';
import { postJson } from '../support/http';
import { OllamaEmulator, type RequestRecord } from './ollama-emulator';
import { LineReader, type Json } from './test-helpers';

jest.setTimeout(30_000);

const TOOLS = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];

describe('OllamaEmulator records and counters', () => {
  let emulator: OllamaEmulator;

  beforeEach(async () => {
    emulator = new OllamaEmulator({
      models: ['llama3.1:latest', 'qwen2.5:7b', 'nomic-embed-text:latest', 'llava:latest'],
    });
    await emulator.start(0);
  });

  afterEach(async () => {
    await emulator.stop();
  });

  it('records what each request carried: path, model, keep_alive, options, tools, format, images, stream, status', async () => {
    const body = {
      model: 'llama3.1',
      messages: [{ role: 'user', content: 'hi' }],
      keep_alive: '20m',
      options: { num_ctx: 4096, temperature: 0.1 },
      tools: TOOLS,
      stream: false,
    };
    await (await postJson(`${emulator.url}/api/chat`, body)).text();
    const expected: RequestRecord = {
      endpoint: 'chat',
      method: 'POST',
      path: '/api/chat',
      body,
      model: 'llama3.1',
      keepAlive: '20m',
      options: { num_ctx: 4096, temperature: 0.1 },
      tools: TOOLS,
      images: 0,
      stream: false,
      status: 200,
      aborted: false,
    };
    expect(emulator.lastRequest({ endpoint: 'chat' })).toEqual(expected);

    await (
      await postJson(`${emulator.url}/api/generate`, { model: 'llava', prompt: 'x', images: ['AAAA', 'AAAA'] })
    ).text();
    const generate = emulator.lastRequest({ model: 'llava' });
    expect(generate).toMatchObject({ endpoint: 'generate', images: 2, status: 200 });
    expect(generate).not.toHaveProperty('keepAlive');
    expect(generate).not.toHaveProperty('stream');
  });

  it('keeps the status of refused requests too', async () => {
    await (await postJson(`${emulator.url}/api/chat`, { model: 'nomic-embed-text', messages: [] })).text();
    await (await postJson(`${emulator.url}/api/chat`, { model: 'ghost', messages: [] })).text();
    expect(emulator.requests({ endpoint: 'chat' }).map((r) => [r.model, r.status])).toEqual([
      ['nomic-embed-text', 400],
      ['ghost', 404],
    ]);
  });

  it('counts requests per model and endpoint whatever the spelling of the name, and loads and unloads per model', async () => {
    const chat = (model: string): Promise<Response> =>
      postJson(`${emulator.url}/api/chat`, { model, stream: false, messages: [{ role: 'user', content: 'x' }] });
    await (await chat('llama3.1')).text();
    await (await chat('llama3.1:latest')).text();
    await (await chat('LLAMA3.1')).text();
    await (await postJson(`${emulator.url}/api/generate`, { model: 'qwen2.5:7b', keep_alive: 0 })).text();

    expect(emulator.requestCount({ model: 'llama3.1', endpoint: 'chat' })).toBe(3);
    expect(emulator.requestCount({ model: 'llama3.1', endpoint: 'generate' })).toBe(0);
    expect(emulator.requestCount({ model: 'qwen2.5:7b' })).toBe(1);
    expect(emulator.requestCount({ model: 'nomic-embed-text', endpoint: 'chat' })).toBe(0);
    expect(emulator.requestCount({ endpoint: 'chat' })).toBe(3);
    expect(emulator.requests({ model: 'Llama3.1:latest' })).toHaveLength(3);

    const { models } = emulator.stats;
    expect(models['llama3.1:latest']).toEqual({ requests: { chat: 3 }, loads: 1, unloads: 0, aborted: 0 });
    expect(models['qwen2.5:7b']).toEqual({ requests: { generate: 1 }, loads: 0, unloads: 0, aborted: 0 });
    expect(models['nomic-embed-text:latest']).toBeUndefined();

    emulator.unloadAll();
    expect(emulator.stats.models['llama3.1:latest']).toMatchObject({ loads: 1, unloads: 1 });
    emulator.resetStats();
    expect(emulator.stats.models).toEqual({});
    expect(emulator.requestCount({ model: 'llama3.1' })).toBe(0);
  });

  it('counts a generation whose client went away mid-stream as aborted, for the model and the record', async () => {
    emulator.configure({ tokenDelayMs: 30, replyText: Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ') });
    const controller = new AbortController();
    const res = await postJson(
      `${emulator.url}/api/chat`,
      { model: 'qwen2.5:7b', messages: [{ role: 'user', content: 'x' }] },
      { signal: controller.signal },
    );
    const reader = LineReader.of(res);
    expect(JSON.parse((await reader.next()) ?? '{}')).toMatchObject({ done: false });
    controller.abort();
    await eventually(
      'the abort to be counted',
      () => emulator.stats.abortedStreams === 1 && emulator.stats.inFlight === 0,
    );
    expect(emulator.stats.models['qwen2.5:7b']?.aborted).toBe(1);
    expect(emulator.lastRequest({ model: 'qwen2.5:7b' })).toMatchObject({ aborted: true, status: 499 });
    expect(emulator.stats.models['llama3.1:latest']).toBeUndefined();
  });

  it('does not count a connection the emulator cut itself as aborted', async () => {
    emulator.injectFault({ kind: 'drop-connection', times: 1 });
    await postJson(`${emulator.url}/api/chat`, { model: 'llama3.1', messages: [] }).catch((err: unknown) => err);
    await eventually('the dropped request to end', () => emulator.stats.inFlight === 0);
    expect(emulator.stats.abortedStreams).toBe(0);
    expect(emulator.lastRequest({ endpoint: 'chat' })?.aborted).toBe(false);
  });

  it('serves the records and counters over the control API', async () => {
    await (await postJson(`${emulator.url}/api/chat`, { model: 'llama3.1', messages: [], keep_alive: '1m' })).text();
    await (await postJson(`${emulator.url}/api/embed`, { model: 'nomic-embed-text', input: 'x' })).text();
    const res = await fetch(`${emulator.url}/__emulator/requests?endpoint=chat&model=llama3.1:latest`);
    const { requests } = (await res.json()) as { requests: Json[] };
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ endpoint: 'chat', keepAlive: '1m', status: 200 });
    const stats = (await (await fetch(`${emulator.url}/__emulator/stats`)).json()) as Json;
    expect(stats['models']).toMatchObject({
      'llama3.1:latest': { requests: { chat: 1 }, loads: 1 },
      'nomic-embed-text:latest': { requests: { embed: 1 }, loads: 1 },
    });
  });
});

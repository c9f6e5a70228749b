import { parseKeepAlive } from '../../src/config/duration';
import type { LlmChatRequest } from '../../src/llm/llm.types';
import { OllamaClient, OllamaStreamEvent } from '../../src/llm/ollama/ollama-client';
import { BUSY_MESSAGE, OllamaEmulator } from '../emulator/ollama-emulator';
import { eventually } from '../support/eventually';
import { failureOf, MODEL } from './harness';

const CALL = { timeoutMs: 5_000 };
const STREAM = { idleTimeoutMs: 5_000 };

const SETTINGS = { keepAlive: parseKeepAlive('5m')!, maxSockets: 8 };

function chatRequest(content: string): LlmChatRequest {
  return { messages: [{ role: 'user', content }] };
}

async function collect(stream: AsyncIterable<OllamaStreamEvent>): Promise<OllamaStreamEvent[]> {
  const chunks: OllamaStreamEvent[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  return chunks;
}

describe(OllamaClient.name, () => {
  const emulator = new OllamaEmulator({ models: [MODEL], replyText: ({ prompt }) => prompt, tokenDelayMs: 5 });
  let client: OllamaClient;

  beforeAll(async () => {
    await emulator.start();
    client = new OllamaClient(emulator.url, SETTINGS);
  });

  afterEach(() => {
    emulator.clearFaults();
    emulator.configure({ models: [MODEL] });
  });

  afterAll(async () => {
    client.destroy();
    await emulator.stop();
  });

  it('reads the version, the models on disk and the models in memory', async () => {
    await expect(client.version(CALL)).resolves.toEqual({ version: '0.33.0' });
    const tags = await client.tags(CALL);
    expect(tags.models.map((model) => model.name)).toEqual([MODEL]);
    await client.load(MODEL, 'generate', CALL);
    const ps = await client.ps(CALL);
    expect(ps.models).toHaveLength(1);
    expect(Date.parse(ps.models[0].expires_at)).toBeGreaterThan(Date.now());
  });

  it('calls again on its idle connection after a quiet spell longer than undici’s default 4 s', async () => {
    await client.version(CALL);
    const accepted = emulator.connectionsAccepted;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await client.version(CALL);
    expect(emulator.connectionsAccepted).toBe(accepted);
  }, 15_000);

  it("loads the model with an empty generate request and the gateway's keep_alive (done_reason load)", async () => {
    emulator.resetStats();
    await expect(client.load(MODEL, 'generate', CALL)).resolves.toBe('load');
    expect(emulator.stats.lastRequests.at(-1)).toMatchObject({
      endpoint: 'generate',
      body: { model: MODEL, keep_alive: '5m', options: {}, stream: false },
    });
  });

  it('answers a non-streamed chat with the whole message, the usage and the timings in milliseconds', async () => {
    const reply = await client.chat(MODEL, chatRequest('hello world'), CALL);
    expect(reply).toMatchObject({ model: MODEL, doneReason: 'stop', content: 'hello world' });
    expect(reply.usage.completionTokens).toBeGreaterThan(0);
    expect(reply.timings.totalMs).toBeGreaterThan(0);
    expect(reply.timings.totalMs).toBeLessThan(60_000);
  });

  it("sends the model, the gateway's keep_alive and only the sampling options it knows", async () => {
    emulator.resetStats();
    await client.chat(
      MODEL,
      { ...chatRequest('hi'), options: { temperature: 0.2, seed: 7, num_ctx: 99_999 } as never, format: 'json' },
      CALL,
    );
    expect(emulator.stats.lastRequests.at(-1)).toMatchObject({
      endpoint: 'chat',
      body: {
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        stream: false,
        keep_alive: '5m',
        options: { temperature: 0.2, seed: 7 },
        format: 'json',
      },
    });
  });

  it('streams the non-empty deltas, then one done with the result', async () => {
    const events = await collect(await client.chatStream(MODEL, chatRequest('one two three'), STREAM));
    const deltas = events.filter((event) => event.type === 'delta');
    expect(deltas.map((event) => event.text).join('')).toBe('one two three');
    expect(deltas.every((event) => event.text !== '')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'done', result: { model: MODEL, doneReason: 'stop' } });
    expect(events.filter((event) => event.type === 'done')).toHaveLength(1);
  });

  it('reports a model Ollama does not have as model_not_found', async () => {
    emulator.configure({ models: [] });
    await expect(failureOf(client.chat(MODEL, chatRequest('hi'), CALL))).resolves.toMatchObject({
      kind: 'model_not_found',
      httpStatus: 404,
    });
    await expect(failureOf(client.chatStream(MODEL, chatRequest('hi'), STREAM))).resolves.toMatchObject({
      kind: 'model_not_found',
    });
    await expect(failureOf(client.show('nothing:here', CALL))).resolves.toMatchObject({ kind: 'model_not_found' });
  });

  it('reports a full Ollama queue as busy, keeping its text for the log only', async () => {
    emulator.injectFault({ kind: 'busy', times: 1, endpoints: ['chat'] });
    const failure = await failureOf(client.chat(MODEL, chatRequest('hi'), CALL));
    expect(failure).toMatchObject({ kind: 'busy', httpStatus: 503, detail: BUSY_MESSAGE });
    expect(failure.message).not.toContain('maximum pending');
  });

  it('reports other error statuses as upstream, with the status, before reading any stream', async () => {
    emulator.injectFault({ kind: 'http-error', status: 500, message: 'llama-server process has terminated', times: 1 });
    await expect(failureOf(client.chatStream(MODEL, chatRequest('hi'), STREAM))).resolves.toMatchObject({
      kind: 'upstream',
      httpStatus: 500,
      detail: 'llama-server process has terminated',
    });
  });

  it('throws an error line in the middle of a stream as upstream', async () => {
    emulator.injectFault({ kind: 'mid-stream-error', afterChunks: 1, message: 'runner crashed', times: 1 });
    const stream = await client.chatStream(MODEL, chatRequest('one two three four'), STREAM);
    const seen: OllamaStreamEvent[] = [];
    const failure = await failureOf(
      (async () => {
        for await (const chunk of stream) {
          seen.push(chunk);
        }
      })(),
    );
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(failure).toMatchObject({ kind: 'upstream', detail: 'runner crashed' });
  });

  it('times out a silent non-streamed answer after its time limit', async () => {
    emulator.injectFault({ kind: 'hang', times: 1 });
    const started = Date.now();
    await expect(failureOf(client.chat(MODEL, chatRequest('hi'), { timeoutMs: 300 }))).resolves.toMatchObject({
      kind: 'timeout',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('times out a stream that goes silent between chunks', async () => {
    emulator.injectFault({ kind: 'hang-after-first-chunk', times: 1 });
    const stream = await client.chatStream(MODEL, chatRequest('one two three'), { idleTimeoutMs: 300 });
    await expect(failureOf(collect(stream))).resolves.toMatchObject({ kind: 'timeout' });
  });

  it('does not count the time the consumer spends between chunks as silence', async () => {
    const stream = await client.chatStream(MODEL, chatRequest('one two three'), { idleTimeoutMs: 200 });
    const events: OllamaStreamEvent[] = [];
    for await (const event of stream) {
      events.push(event);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(events.at(-1)?.type).toBe('done');
  });

  it('reports a dropped connection and a closed port as unreachable', async () => {
    emulator.injectFault({ kind: 'drop-connection', times: 1 });
    await expect(failureOf(client.chat(MODEL, chatRequest('hi'), CALL))).resolves.toMatchObject({
      kind: 'unreachable',
    });

    const gone = new OllamaEmulator();
    await gone.start();
    const closedPort = gone.url;
    await gone.stop();
    const nowhere = new OllamaClient(closedPort, SETTINGS);
    await expect(failureOf(nowhere.version(CALL))).resolves.toMatchObject({ kind: 'unreachable' });
    nowhere.destroy();
  });

  it("aborts the upstream request when the caller's signal aborts, reporting aborted", async () => {
    emulator.resetStats();
    emulator.configure({ tokenDelayMs: 50 });
    try {
      const controller = new AbortController();
      const stream = await client.chatStream(MODEL, chatRequest('a b c d e f g h i j'), {
        ...STREAM,
        signal: controller.signal,
      });
      const failure = failureOf(
        (async () => {
          for await (const event of stream) {
            expect(event.type).toBe('delta');
            controller.abort();
          }
        })(),
      );
      await expect(failure).resolves.toMatchObject({ kind: 'aborted' });
      await eventually('emulator saw the abort', () => emulator.stats.abortedStreams === 1, 5_000);
    } finally {
      emulator.configure({ tokenDelayMs: 5 });
    }
  });

  it('aborts the upstream request when the consumer leaves the loop', async () => {
    emulator.resetStats();
    emulator.configure({ tokenDelayMs: 50 });
    try {
      const stream = await client.chatStream(MODEL, chatRequest('a b c d e f g h i j'), STREAM);
      for await (const event of stream) {
        expect(event.type).toBe('delta');
        break;
      }
      await eventually('emulator saw the abort', () => emulator.stats.abortedStreams === 1, 5_000);
    } finally {
      emulator.configure({ tokenDelayMs: 5 });
    }
  });

  it("aborts a non-streamed call when the caller's signal aborts, reporting aborted", async () => {
    emulator.injectFault({ kind: 'hang', times: 1 });
    const controller = new AbortController();
    const call = failureOf(client.chat(MODEL, chatRequest('hi'), { ...CALL, signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    await expect(call).resolves.toMatchObject({ kind: 'aborted' });
    await expect(
      failureOf(client.chat(MODEL, chatRequest('hi'), { ...CALL, signal: controller.signal })),
    ).resolves.toMatchObject({ kind: 'aborted' });
  });

  it("relays an answer as Ollama wrote it: status, content type and the body's bytes", async () => {
    const answer = await client.forward(
      {
        model: MODEL,
        method: 'POST',
        path: '/api/chat',
        body: { model: MODEL, messages: [{ role: 'user', content: 'one two' }] },
      },
      STREAM,
    );
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('application/x-ndjson');
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body) {
      chunks.push(chunk);
    }
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.message.content).join('')).toBe('one two');
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it("relays Ollama's own refusals, and throws its failures and a missing model", async () => {
    const refused = await client.forward(
      { model: MODEL, method: 'POST', path: '/api/chat', body: { model: MODEL, messages: 'not a list' } },
      STREAM,
    );
    expect(refused.status).toBe(400);
    const chunks: Buffer[] = [];
    for await (const chunk of refused.body) {
      chunks.push(chunk);
    }
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toEqual({ error: expect.any(String) });

    emulator.injectFault({ kind: 'http-error', status: 500, message: 'runner crashed', times: 1 });
    await expect(
      failureOf(client.forward({ model: MODEL, method: 'POST', path: '/api/chat', body: { model: MODEL } }, STREAM)),
    ).resolves.toMatchObject({ kind: 'upstream', httpStatus: 500, detail: 'runner crashed' });

    emulator.configure({ models: [] });
    await expect(
      failureOf(
        client.forward(
          { model: MODEL, method: 'POST', path: '/api/chat', body: { model: MODEL, messages: [] } },
          STREAM,
        ),
      ),
    ).resolves.toMatchObject({ kind: 'model_not_found' });
  });

  it('closes the connection when the reader of a relayed answer leaves early', async () => {
    emulator.resetStats();
    emulator.configure({ tokenDelayMs: 50 });
    try {
      const answer = await client.forward(
        {
          model: MODEL,
          method: 'POST',
          path: '/api/chat',
          body: { model: MODEL, messages: [{ role: 'user', content: 'a b c d e f g h i j' }] },
        },
        STREAM,
      );
      for await (const _chunk of answer.body) {
        break;
      }
      await eventually('emulator saw the abort', () => emulator.stats.abortedStreams === 1, 5_000);
    } finally {
      emulator.configure({ tokenDelayMs: 5 });
    }
  });

  it('times out a relayed answer that goes silent between chunks', async () => {
    emulator.injectFault({ kind: 'hang-after-first-chunk', times: 1 });
    const answer = await client.forward(
      {
        model: MODEL,
        method: 'POST',
        path: '/api/chat',
        body: { model: MODEL, messages: [{ role: 'user', content: 'a b c' }] },
      },
      { idleTimeoutMs: 300 },
    );
    const failure = failureOf(
      (async () => {
        for await (const _chunk of answer.body) {
          // Reading until the silence ends it.
        }
      })(),
    );
    await expect(failure).resolves.toMatchObject({ kind: 'timeout' });
  });

  it('reads an answer larger than what is buffered for a slow reader, in order and whole', async () => {
    const words = Array.from({ length: 40_000 }, (_, i) => `w${i % 10}`).join(' ');
    emulator.configure({ tokenDelayMs: 0 });
    try {
      const stream = await client.chatStream(MODEL, chatRequest(words), STREAM);
      let text = '';
      let events = 0;
      for await (const event of stream) {
        if (event.type === 'delta') {
          text += event.text;
        }
        if (++events % 5_000 === 0) {
          // A consumer that falls behind: the connection is paused meanwhile, not read into memory.
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      expect(text).toBe(words);
    } finally {
      emulator.configure({ tokenDelayMs: 5 });
    }
  });

  it('pulls a model, streaming progress up to success', async () => {
    emulator.configure({ models: [], pullChunks: 3, pullChunkDelayMs: 1 });
    const progress = [];
    for await (const line of await client.pull('llama3.2:latest', new AbortController().signal)) {
      progress.push(line);
    }
    expect(progress[0]).toEqual({ status: 'pulling manifest' });
    expect(progress.some((line) => line.digest !== undefined && line.total !== undefined)).toBe(true);
    expect(progress.at(-1)).toEqual({ status: 'success' });
  });

  it('reports a pull the registry cannot serve as an upstream error', async () => {
    const failure = failureOf(
      (async () => {
        for await (const _line of await client.pull('no-such-model:latest', new AbortController().signal)) {
          // Reading until the error line.
        }
      })(),
    );
    await expect(failure).resolves.toMatchObject({ kind: 'upstream', detail: expect.stringContaining('manifest') });
  });
});

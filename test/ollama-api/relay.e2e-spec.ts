import { relayAnswer } from '../../src/ollama-api/answer-relay';
import { postJson } from '../support/http';
import { eventually } from '../support/eventually';
import { metricValue } from '../support/metrics';
import { AUTH, CHAT_MODEL, EMBED_MODEL, OllamaGateway, startOllamaGateway } from './gateway';
import { RecordingProxy } from './recording-proxy';

const LONG_REPLY = Array.from({ length: 400 }, (_, index) => `wörd${index}`).join(' ');

describe(`${relayAnswer.name} through the gateway`, () => {
  let proxy: RecordingProxy | undefined;
  let gateway: OllamaGateway;

  beforeAll(async () => {
    gateway = await startOllamaGateway({
      // Short, so that a silent stream fails within the test.
      env: { OLLAMA_TIMEOUT: '1' },
      ollamaUrl: async (emulator) => {
        proxy = new RecordingProxy(emulator.url);
        return proxy.start();
      },
    });
  });

  afterEach(() => {
    gateway?.emulator.configure({ replyText: undefined, tokenDelayMs: 0 });
    gateway?.emulator.clearFaults();
  });

  afterAll(async () => {
    await gateway?.close();
    await proxy?.stop();
  });

  it('relays a streamed chat byte for byte as Ollama sent it, as NDJSON', async () => {
    gateway.emulator.configure({ replyText: LONG_REPLY });
    const response = await postJson(
      `${gateway.url}/api/chat`,
      { model: CHAT_MODEL, messages: [{ role: 'user', content: 'Go on.' }] },
      { headers: { ...AUTH, 'x-request-id': 'ndjson-1' } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.headers.get('x-request-id')).toBe('ndjson-1');
    const received = Buffer.from(await response.arrayBuffer());

    const sent = proxy?.last('POST', '/api/chat');
    expect(sent?.status).toBe(200);
    expect(received.equals(sent?.body ?? Buffer.alloc(0))).toBe(true);

    const lines = received.toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    const parts = lines.map((line) => JSON.parse(line) as { message: { content: string }; done: boolean });
    expect(parts.length).toBeGreaterThan(100);
    expect(parts.map((part) => part.message.content).join('')).toBe(LONG_REPLY);
    expect(parts.at(-1)?.done).toBe(true);
  });

  it.each([['application/x-www-form-urlencoded'], ['text/plain'], ['application/xml'], [undefined]])(
    'reads the body as JSON whatever its Content-Type (%s), as Ollama does for `curl -d`',
    async (contentType) => {
      const headers = new Headers(AUTH);
      if (contentType !== undefined) {
        headers.set('content-type', contentType);
      }
      // fetch sends a string body as text/plain unless told otherwise; a Blob without a type sends none.
      const body = new Blob([JSON.stringify({ model: CHAT_MODEL, prompt: 'Why is the sky blue?', stream: false })]);
      const response = await fetch(`${gateway.url}/api/generate`, { method: 'POST', headers, body });
      const text = await response.text();
      expect(response.status).toBe(200);
      // The emulator's reply echoes the prompt: Ollama got the body.
      expect(JSON.parse(text)).toMatchObject({
        model: CHAT_MODEL,
        done: true,
        response: expect.stringContaining('sky'),
      });
    },
  );

  it('relays a non-streamed answer as one JSON object, byte for byte', async () => {
    const response = await postJson(
      `${gateway.url}/api/embed`,
      { model: EMBED_MODEL, input: 'first text' },
      { headers: AUTH },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const received = Buffer.from(await response.arrayBuffer());
    expect(received.equals(proxy?.last('POST', '/api/embed')?.body ?? Buffer.alloc(0))).toBe(true);
    expect(JSON.parse(received.toString('utf8'))).toMatchObject({
      model: EMBED_MODEL,
      embeddings: [expect.any(Array)],
    });
  });

  it('aborts the generation upstream when the client leaves a streamed chat', async () => {
    gateway.emulator.configure({ replyText: LONG_REPLY, tokenDelayMs: 20 });
    gateway.emulator.resetStats();
    const abortedBefore = await metricValue(gateway.url, 'llm_request_duration_seconds_count', {
      endpoint: 'ollama',
      outcome: 'aborted',
    });
    const controller = new AbortController();
    const response = await postJson(
      `${gateway.url}/api/chat`,
      { model: CHAT_MODEL, messages: [{ role: 'user', content: 'Go on.' }] },
      { headers: AUTH, signal: controller.signal },
    );
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();

    await eventually('the emulator to see the chat aborted', () => gateway.emulator.stats.abortedStreams === 1);
    expect(gateway.emulator.lastRequest({ endpoint: 'chat' })).toMatchObject({ aborted: true, status: 499 });
    await eventually(
      'the call to be counted as aborted',
      async () =>
        (await metricValue(gateway.url, 'llm_request_duration_seconds_count', {
          endpoint: 'ollama',
          outcome: 'aborted',
        })) ===
        abortedBefore + 1,
    );
  });

  it('ends a stream that fails midway with Ollama’s {"error"} line', async () => {
    gateway.emulator.injectFault({ kind: 'mid-stream-error', afterChunks: 2, times: 1 });
    const response = await postJson(
      `${gateway.url}/api/generate`,
      { model: CHAT_MODEL, prompt: 'Go on.' },
      { headers: AUTH },
    );
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.at(-1)).toEqual({ error: expect.any(String) });
    expect(lines.some((line) => line.done === true)).toBe(false);
  });

  it('ends a stream that goes silent with an {"error"} line of its own, after OLLAMA_TIMEOUT', async () => {
    gateway.emulator.injectFault({ kind: 'hang-after-first-chunk', times: 1 });
    const response = await postJson(
      `${gateway.url}/api/chat`,
      { model: CHAT_MODEL, messages: [{ role: 'user', content: 'Go on.' }] },
      { headers: AUTH },
    );
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toEqual({
      error: 'the model sent nothing for 1 s (OLLAMA_TIMEOUT); the answer is incomplete',
    });
    await eventually(
      'the emulator to see the chat aborted',
      () => gateway.emulator.lastRequest({ endpoint: 'chat' })?.aborted === true,
    );
  });

  it('counts the calls under endpoint="ollama" and the route under its template', async () => {
    const success = { endpoint: 'ollama', outcome: 'success' };
    const before = await metricValue(gateway.url, 'llm_request_duration_seconds_count', success);
    const response = await postJson(
      `${gateway.url}/api/chat`,
      { model: CHAT_MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: false },
      { headers: AUTH },
    );
    expect(response.status).toBe(200);
    await response.text();
    await eventually(
      'the chat to be counted',
      async () => (await metricValue(gateway.url, 'llm_request_duration_seconds_count', success)) === before + 1,
    );
    expect(
      await metricValue(gateway.url, 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/chat',
        status_code: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

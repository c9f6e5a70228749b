import { once } from 'node:events';
import { ChatController } from '../../src/chat/chat.controller';
import { postDisconnectable } from '../support/connections';
import { eventually } from '../support/eventually';
import { Gateway, MODEL, startGateway } from '../support/gateway';
import { parseSseEvents, postJson } from '../support/http';

const TIMINGS_SHAPE = {
  totalMs: expect.any(Number),
  queueMs: expect.any(Number),
  loadMs: expect.any(Number),
  promptEvalMs: expect.any(Number),
  evalMs: expect.any(Number),
  tokensPerSecond: expect.any(Number),
};

const USAGE_SHAPE = { promptTokens: expect.any(Number), completionTokens: expect.any(Number) };

interface ChatBody {
  reply: string;
  model: string;
  doneReason: string;
  usage: { promptTokens: number; completionTokens: number };
  timings: Record<string, number>;
}

interface ChatEvent {
  /** Undefined for the deltas, which the stream leaves unnamed. */
  event?: string;
  data: unknown;
}

/** The events of a complete `/chat` stream, each with its data parsed. */
function chatEvents(text: string): ChatEvent[] {
  return parseSseEvents(text).map(({ event, data }) => ({ event, data: JSON.parse(data) as unknown }));
}

/** The deltas of a `/chat` stream, joined. */
function deltasOf(events: ChatEvent[]): string {
  return events
    .filter((event) => event.event === undefined)
    .map((event) => (event.data as { delta: string }).delta)
    .join('');
}

function lastChatRequest(gateway: Gateway): Record<string, unknown> {
  const chats = gateway.emulator.stats.lastRequests.filter((request) => request.endpoint === 'chat');
  return chats[chats.length - 1]?.body as Record<string, unknown>;
}

describe(ChatController.name, () => {
  let gateway: Gateway;
  let chatUrl: string;

  beforeAll(async () => {
    gateway = await startGateway({ OLLAMA_MAX_RETRIES: '0' });
    chatUrl = `${gateway.url}/chat`;
  });

  afterAll(async () => {
    await gateway?.close();
  });

  afterEach(() => {
    gateway.emulator.clearFaults();
    gateway.emulator.configure({ tokenDelayMs: 0, replyText: undefined });
    gateway.emulator.resetStats();
  });

  describe('not streamed', () => {
    it('answers 200 with the reply, model, done reason, usage and timings', async () => {
      const response = await postJson(chatUrl, { message: 'What is a bond?' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as ChatBody;
      expect(body).toEqual({
        reply: 'Echo: What is a bond? This is a deterministic reply from the Ollama emulator.',
        model: MODEL,
        doneReason: 'stop',
        usage: USAGE_SHAPE,
        timings: TIMINGS_SHAPE,
      });
      expect(body.usage.promptTokens).toBeGreaterThan(0);
      expect(body.usage.completionTokens).toBeGreaterThan(0);
      expect(Object.keys(body)).toEqual(['reply', 'model', 'doneReason', 'usage', 'timings']);
    });

    it('sends the system prompt, the history in order and the message to Ollama, with the options', async () => {
      const response = await postJson(chatUrl, {
        message: 'And a stock?',
        system: 'Answer in one sentence.',
        history: [
          { role: 'user', content: 'What is a bond?' },
          { role: 'assistant', content: 'A loan to an issuer.' },
        ],
        options: { temperature: 0.3, top_p: 0.8, num_predict: 64, seed: 7 },
      });
      expect(response.status).toBe(200);
      const sent = lastChatRequest(gateway);
      expect(sent.messages).toEqual([
        { role: 'system', content: 'Answer in one sentence.' },
        { role: 'user', content: 'What is a bond?' },
        { role: 'assistant', content: 'A loan to an issuer.' },
        { role: 'user', content: 'And a stock?' },
      ]);
      expect(sent.options).toMatchObject({ temperature: 0.3, top_p: 0.8, num_predict: 64, seed: 7 });
      expect(sent.model).toBe(MODEL);
    });

    it('reports doneReason "length" when num_predict cuts the reply', async () => {
      const response = await postJson(chatUrl, { message: 'Tell me a long story please', options: { num_predict: 2 } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as ChatBody;
      expect(body.doneReason).toBe('length');
      expect(body.usage.completionTokens).toBe(2);
    });

    it('cancels the upstream generation when the client disconnects while waiting for the reply', async () => {
      gateway.emulator.configure({ tokenDelayMs: 100, replyText: 'slow reply '.repeat(100) });
      const client = postDisconnectable(chatUrl, { message: 'Hi' });
      await eventually(() => gateway.emulator.stats.inFlight === 1);
      client.disconnect();
      await eventually(() => gateway.emulator.stats.abortedStreams === 1);
      await eventually(() => gateway.emulator.stats.inFlight === 0);
    });

    it('answers 502 with a summary, not Ollama’s raw text, when Ollama fails', async () => {
      gateway.emulator.injectFault({ kind: 'http-error', status: 500, message: 'runner crashed at /opt/llama.cpp' });
      const response = await postJson(chatUrl, { message: 'Hi' }, { headers: { 'x-request-id': 'chat-502' } });
      expect(response.status).toBe(502);
      const body = (await response.json()) as { statusCode: number; message: string; requestId: string };
      expect(body).toMatchObject({ statusCode: 502, error: 'Bad Gateway', requestId: 'chat-502' });
      expect(body.message).not.toContain('/opt/llama.cpp');
    });
  });

  describe('streamed', () => {
    it('answers 200 as an event stream with the headers that keep proxies from buffering', async () => {
      const response = await postJson(
        chatUrl,
        { message: 'Hi', stream: true },
        { headers: { 'x-request-id': 'sse-1' } },
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache, no-store');
      expect(response.headers.get('x-accel-buffering')).toBe('no');
      expect(response.headers.get('x-request-id')).toBe('sse-1');
      expect(response.headers.get('x-response-time')).toMatch(/ms$/);
      await response.text();
    });

    it('sends deltas that add up to the non-streamed reply, then done with usage and timings', async () => {
      const message = 'Explain duration risk for a bond portfolio in plain words.';
      const whole = (await (await postJson(chatUrl, { message })).json()) as ChatBody;

      const response = await postJson(chatUrl, { message, stream: true });
      const events = chatEvents(await response.text());
      const deltas = events.filter((event) => event.event === undefined);
      expect(deltas.length).toBeGreaterThan(3);
      expect(deltasOf(events)).toBe(whole.reply);

      const last = events[events.length - 1];
      expect(last.event).toBe('done');
      expect(last.data).toEqual({ model: MODEL, doneReason: 'stop', usage: USAGE_SHAPE, timings: TIMINGS_SHAPE });
      expect((last.data as ChatBody).usage).toEqual(whole.usage);
      expect(events.filter((event) => event.event === 'done')).toHaveLength(1);
      expect(lastChatRequest(gateway).stream).toBe(true);
    });

    it('refuses before the first byte with a JSON 503 and Retry-After, not an event', async () => {
      gateway.emulator.injectFault({ kind: 'busy', times: 1 });
      const response = await postJson(chatUrl, { message: 'Hi', stream: true });
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = (await response.json()) as { statusCode: number; message: string };
      expect(body).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/busy/),
      });
    });

    it('answers 502 as JSON when Ollama refuses the streamed request', async () => {
      gateway.emulator.injectFault({ kind: 'http-error', status: 500, times: 1 });
      const response = await postJson(chatUrl, { message: 'Hi', stream: true });
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('ends with an error event naming the failure when generation fails midway', async () => {
      gateway.emulator.injectFault({
        kind: 'mid-stream-error',
        afterChunks: 2,
        message: 'llama runner at /usr/lib/ollama crashed',
        times: 1,
      });
      const response = await postJson(chatUrl, { message: 'Tell me about credit spreads', stream: true });
      expect(response.status).toBe(200);
      const events = chatEvents(await response.text());
      expect(events.filter((event) => event.event === undefined)).toHaveLength(2);
      const last = events[events.length - 1];
      expect(last.event).toBe('error');
      const { message } = last.data as { message: string };
      expect(typeof message).toBe('string');
      expect(message.length).toBeGreaterThan(10);
      expect(message).not.toContain('/usr/lib/ollama');
      expect(events.some((event) => event.event === 'done')).toBe(false);
    });

    it('cancels the upstream generation when the client disconnects', async () => {
      gateway.emulator.configure({
        tokenDelayMs: 100,
        replyText: 'one two three four five six seven eight nine ten '.repeat(20),
      });
      const client = postDisconnectable(chatUrl, { message: 'Hi', stream: true });
      const response = await client.response;
      expect(response.statusCode).toBe(200);
      const [first] = (await once(response, 'data')) as [Buffer];
      expect(first.toString()).toContain('data: {"delta"');
      client.disconnect();
      await eventually(() => gateway.emulator.stats.abortedStreams === 1);
      await eventually(() => gateway.emulator.stats.inFlight === 0);
    });
  });
});

describe('ChatController at shutdown', () => {
  it('ends an open stream with a final event and lets the application close', async () => {
    const gateway = await startGateway({ SHUTDOWN_GRACE_PERIOD: '0.5' });
    try {
      gateway.emulator.configure({ tokenDelayMs: 200, replyText: 'slow words keep coming '.repeat(100) });
      const response = await postJson(`${gateway.url}/chat`, { message: 'Hi', stream: true });
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      const closing = gateway.running.close();
      let rest = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        rest += new TextDecoder().decode(value);
      }
      await closing;
      const last = chatEvents(rest).pop();
      expect(last).toEqual({ event: 'error', data: { message: expect.stringMatching(/shutting down/) } });
    } finally {
      await gateway.close();
    }
  });
});

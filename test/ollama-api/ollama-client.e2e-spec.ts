import { ChatOllama } from '@langchain/ollama';
import { Ollama } from 'ollama';
import { OllamaInferenceController } from '../../src/ollama-api/ollama-inference.controller';
import {
  API_KEY,
  CHAT_MODEL,
  EMBED_MODEL,
  GATEWAY_KEEP_ALIVE,
  lastUpstreamBody,
  OllamaGateway,
  SECOND_CHAT_MODEL,
  startOllamaGateway,
  UNSERVED_MODEL,
} from './gateway';

const QUESTION = 'What is duration risk?';
/** What the emulator answers to QUESTION: it echoes the last user message. */
const ECHO = `Echo: ${QUESTION} This is a deterministic reply from the Ollama emulator.`;

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } },
  },
};

/** What ollama-js raised for a refusal: its `ResponseError` (not exported by the package) as plain data. */
interface ClientError {
  name: string;
  status_code: number;
  error: string;
}

async function refusalOf(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    const { name, status_code, error: message } = error as ClientError;
    return { name, status_code, error: message };
  }
  throw new Error('the call succeeded');
}

describe(`${OllamaInferenceController.name} with the official ollama client`, () => {
  let gateway: OllamaGateway;
  let client: Ollama;

  beforeAll(async () => {
    gateway = await startOllamaGateway();
    client = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${API_KEY}` } });
  });

  afterEach(() => {
    gateway?.emulator.configure({ replyText: undefined, toolCalls: undefined });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('chats without streaming, and the gateway sends its own keep_alive and the body as it came', async () => {
    gateway.emulator.resetStats();
    const reply = await client.chat({
      model: 'llama3.1',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: QUESTION },
      ],
      keep_alive: 0,
      format: 'json',
      options: { temperature: 0.2, seed: 7, num_predict: 100, stop: ['\n\n'] },
    });
    expect(reply).toMatchObject({
      model: CHAT_MODEL,
      message: { role: 'assistant', content: expect.any(String) },
      done: true,
      done_reason: 'stop',
      eval_count: expect.any(Number),
    });
    const record = gateway.emulator.lastRequest({ endpoint: 'chat' });
    expect(record).toMatchObject({ model: CHAT_MODEL, keepAlive: GATEWAY_KEEP_ALIVE, stream: false, status: 200 });
    expect(record?.body).toEqual({
      model: CHAT_MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: QUESTION },
      ],
      keep_alive: GATEWAY_KEEP_ALIVE,
      format: 'json',
      options: { temperature: 0.2, seed: 7, num_predict: 100, stop: ['\n\n'] },
      stream: false,
    });
    expect(gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(1);
  });

  it('streams a chat whose parts add up to the whole reply', async () => {
    const whole = await client.chat({ model: CHAT_MODEL, messages: [{ role: 'user', content: QUESTION }] });
    expect(whole.message.content).toBe(ECHO);

    const stream = await client.chat({
      model: CHAT_MODEL,
      messages: [{ role: 'user', content: QUESTION }],
      stream: true,
      keep_alive: '-1m',
    });
    const parts = [];
    for await (const part of stream) {
      parts.push(part);
    }
    expect(parts.length).toBeGreaterThan(3);
    expect(parts.map((part) => part.message.content).join('')).toBe(ECHO);
    expect(parts.slice(0, -1).every((part) => !part.done)).toBe(true);
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: 'stop', model: CHAT_MODEL });
    expect(gateway.emulator.lastRequest({ endpoint: 'chat' })).toMatchObject({
      keepAlive: GATEWAY_KEEP_ALIVE,
      stream: true,
    });
  });

  it('chats with another served model', async () => {
    const reply = await client.chat({ model: SECOND_CHAT_MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    expect(reply.model).toBe(SECOND_CHAT_MODEL);
    expect(gateway.emulator.lastRequest({ endpoint: 'chat' })?.model).toBe(SECOND_CHAT_MODEL);
  });

  it('passes tools through and relays the model’s tool calls', async () => {
    const reply = await client.chat({
      model: CHAT_MODEL,
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [WEATHER_TOOL],
    });
    expect(reply.message.tool_calls).toEqual([
      expect.objectContaining({
        function: expect.objectContaining({ name: 'get_weather', arguments: expect.any(Object) }),
      }),
    ]);
    expect(lastUpstreamBody(gateway, 'chat').tools).toEqual([WEATHER_TOOL]);
  });

  it('leaves capabilities to Ollama: its own 400 comes back as the client’s error', async () => {
    const error = await refusalOf(client.chat({ model: EMBED_MODEL, messages: [{ role: 'user', content: 'Hi' }] }));
    expect(error).toEqual({ name: 'ResponseError', status_code: 400, error: `"${EMBED_MODEL}" does not support chat` });
    expect(gateway.emulator.requestCount({ endpoint: 'chat', model: EMBED_MODEL })).toBe(1);
  });

  it('generates, streamed and not', async () => {
    const reply = await client.generate({ model: CHAT_MODEL, prompt: QUESTION, system: 'Be brief.', keep_alive: 30 });
    expect(reply).toMatchObject({ model: CHAT_MODEL, response: ECHO, done: true, done_reason: 'stop' });
    expect(gateway.emulator.lastRequest({ endpoint: 'generate' })).toMatchObject({
      keepAlive: GATEWAY_KEEP_ALIVE,
      body: { model: CHAT_MODEL, prompt: QUESTION, system: 'Be brief.', keep_alive: GATEWAY_KEEP_ALIVE, stream: false },
    });

    let text = '';
    for await (const part of await client.generate({ model: CHAT_MODEL, prompt: QUESTION, stream: true })) {
      text += part.response;
    }
    expect(text).toBe(ECHO);
  });

  it('embeds with an embedding model, and answers the legacy embeddings route', async () => {
    const embedded = await client.embed({
      model: 'nomic-embed-text',
      input: ['first text', 'second text'],
      keep_alive: 0,
    });
    expect(embedded.model).toBe(EMBED_MODEL);
    expect(embedded.embeddings).toHaveLength(2);
    expect(embedded.embeddings[0]).toHaveLength(768);
    expect(gateway.emulator.lastRequest({ endpoint: 'embed' })).toMatchObject({
      model: EMBED_MODEL,
      keepAlive: GATEWAY_KEEP_ALIVE,
      body: { input: ['first text', 'second text'] },
    });

    const legacy = await client.embeddings({ model: EMBED_MODEL, prompt: 'first text' });
    expect(legacy.embedding).toHaveLength(768);
    expect(gateway.emulator.lastRequest({ endpoint: 'embeddings' })).toMatchObject({ keepAlive: GATEWAY_KEEP_ALIVE });
  });

  it('lists only the served models, though Ollama has one more', async () => {
    const direct = (await (await fetch(`${gateway.emulator.url}/api/tags`)).json()) as {
      models: Array<{ name: string }>;
    };
    expect(direct.models.map((model) => model.name)).toContain(UNSERVED_MODEL);

    const listed = await client.list();
    expect(listed.models.map((model) => model.name).sort()).toEqual(
      [CHAT_MODEL, EMBED_MODEL, SECOND_CHAT_MODEL].sort(),
    );
    const llama = listed.models.find((model) => model.name === CHAT_MODEL);
    expect(llama).toEqual(direct.models.find((model) => model.name === CHAT_MODEL));
  });

  it('lists only the served models that are loaded, with their context length', async () => {
    // Loaded in Ollama by someone else: the gateway does not show it.
    await (
      await fetch(`${gateway.emulator.url}/api/generate`, {
        method: 'POST',
        body: JSON.stringify({ model: UNSERVED_MODEL }),
      })
    ).text();
    expect(gateway.emulator.residentModels()).toContain(UNSERVED_MODEL);

    const loaded = await client.ps();
    const names = loaded.models.map((model) => model.name);
    expect(names).not.toContain(UNSERVED_MODEL);
    expect(names).toContain(CHAT_MODEL);
    expect(loaded.models.find((model) => model.name === CHAT_MODEL)).toMatchObject({
      context_length: 4096,
      expires_at: expect.any(String),
    });
  });

  it('shows a served model’s details and capabilities, and nothing of one that is not served', async () => {
    const shown = await client.show({ model: 'nomic-embed-text' });
    expect(shown.capabilities).toEqual(['embedding']);
    expect(shown.details).toMatchObject({ family: 'nomic-bert' });
    expect(gateway.emulator.lastRequest({ endpoint: 'show' })?.model).toBe(EMBED_MODEL);

    const before = gateway.emulator.requestCount({ endpoint: 'show' });
    const error = await refusalOf(client.show({ model: UNSERVED_MODEL }));
    expect(error).toEqual({ name: 'ResponseError', status_code: 404, error: `model '${UNSERVED_MODEL}' not found` });
    expect(gateway.emulator.requestCount({ endpoint: 'show' })).toBe(before);
  });

  it('reports the version of the Ollama behind it', async () => {
    await expect(client.version()).resolves.toEqual({ version: '0.33.0' });
  });

  it('refuses a model that is not served with Ollama’s 404, and nothing reaches Ollama', async () => {
    gateway.emulator.resetStats();
    const error = await refusalOf(client.chat({ model: UNSERVED_MODEL, messages: [{ role: 'user', content: 'Hi' }] }));
    expect(error).toEqual({ name: 'ResponseError', status_code: 404, error: `model '${UNSERVED_MODEL}' not found` });
    expect(gateway.emulator.stats.requests).toEqual({});
  });

  it('refuses pulling, pushing, creating, copying and deleting models with 403', async () => {
    const refusals = await Promise.all([
      refusalOf(client.pull({ model: 'mistral' })),
      refusalOf(client.push({ model: CHAT_MODEL })),
      refusalOf(client.create({ model: 'mine', from: CHAT_MODEL })),
      refusalOf(client.copy({ source: CHAT_MODEL, destination: 'mine' })),
      refusalOf(client.delete({ model: CHAT_MODEL })),
    ]);
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ name: 'ResponseError', status_code: 403 });
      expect(refusal.error).toMatch(/configuration \(OLLAMA_MODEL, OLLAMA_MODELS\) decides which models exist/);
    }
    expect(gateway.emulator.requestCount({ endpoint: 'pull' })).toBe(0);
    expect(gateway.emulator.requestCount({ endpoint: 'delete' })).toBe(0);
    expect(gateway.emulator.requestCount({ endpoint: 'copy' })).toBe(0);
  });

  it('refuses a key it does not know, as the client’s error', async () => {
    const stranger = new Ollama({ host: gateway.url, headers: { Authorization: 'Bearer not-a-key-of-this-gateway' } });
    const error = await refusalOf(stranger.list());
    expect(error).toEqual({ name: 'ResponseError', status_code: 401, error: 'invalid API key' });
  });
});

describe('LangChain’s ChatOllama through the gateway', () => {
  let gateway: OllamaGateway;

  beforeAll(async () => {
    gateway = await startOllamaGateway();
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('invokes and streams a chat', async () => {
    const model = new ChatOllama({
      baseUrl: gateway.url,
      model: CHAT_MODEL,
      temperature: 0,
      headers: { Authorization: `Bearer ${API_KEY}` },
    });
    const answer = await model.invoke(QUESTION);
    expect(answer.content).toBe(ECHO);

    let streamed = '';
    for await (const chunk of await model.stream(QUESTION)) {
      streamed += chunk.text;
    }
    expect(streamed).toBe(ECHO);
    expect(gateway.emulator.lastRequest({ endpoint: 'chat' })).toMatchObject({
      model: CHAT_MODEL,
      keepAlive: GATEWAY_KEEP_ALIVE,
      options: expect.objectContaining({ temperature: 0 }),
    });
  });
});

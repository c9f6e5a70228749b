import { OllamaApiService } from '../../src/ollama-api/ollama-api.service';
import { MISSING_API_KEY } from '../../src/security/api-key.guard';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';
import { AUTH, CHAT_MODEL, EMBED_MODEL, OllamaGateway, startOllamaGateway, UNSERVED_MODEL } from './gateway';

const BODY_LIMIT_BYTES = 4096;

/** Asserts Ollama's error body `{"error": "<message>"}` (and nothing else) with `status` and a request id. */
async function expectOllamaError(response: Response, status: number, message: string | RegExp): Promise<string> {
  const text = await response.text();
  expect({ status: response.status, contentType: response.headers.get('content-type') }).toEqual({
    status,
    contentType: 'application/json; charset=utf-8',
  });
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
  expect(response.headers.get('x-request-id')).toMatch(/\S/);
  return body.error as string;
}

function chat(gateway: OllamaGateway, body: unknown, headers: Record<string, string> = AUTH): Promise<Response> {
  return postJson(`${gateway.url}/api/chat`, body, { headers });
}

describe(`${OllamaApiService.name}: what the gateway refuses, in Ollama's words`, () => {
  let gateway: OllamaGateway;

  beforeAll(async () => {
    gateway = await startOllamaGateway({ env: { BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) } });
  });

  beforeEach(() => {
    gateway.emulator.resetStats();
  });

  afterAll(async () => {
    await gateway?.close();
  });

  describe('GET and HEAD /', () => {
    it('answers "Ollama is running" without a key, as Ollama does', async () => {
      const response = await fetch(`${gateway.url}/`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('x-request-id')).toMatch(/\S/);
      expect(await response.text()).toBe('Ollama is running');
    });

    it('answers HEAD without a key and without a body', async () => {
      const response = await fetch(`${gateway.url}/`, { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await response.text()).toBe('');
    });

    it('refuses other methods with 405 in Ollama’s shape', async () => {
      const response = await fetch(`${gateway.url}/`, { method: 'POST', headers: AUTH });
      await expectOllamaError(response, 405, /^POST is not allowed on \/; use GET/);
    });
  });

  it('answers 401 without a key, in Ollama’s shape', async () => {
    const response = await chat(gateway, { model: CHAT_MODEL, messages: [] }, {});
    await expectOllamaError(response, 401, MISSING_API_KEY);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(gateway.emulator.stats.requests).toEqual({});
  });

  it.each([
    ['/api/chat', { messages: [{ role: 'user', content: 'Hi' }] }],
    ['/api/generate', { prompt: 'Hi' }],
    ['/api/embed', { input: 'Hi' }],
    ['/api/embeddings', { prompt: 'Hi' }],
    ['/api/show', {}],
  ])('refuses a model that is not served on %s with 404, and nothing reaches Ollama', async (path, body) => {
    const response = await postJson(`${gateway.url}${path}`, { model: UNSERVED_MODEL, ...body }, { headers: AUTH });
    await expectOllamaError(response, 404, `model '${UNSERVED_MODEL}' not found`);
    expect(gateway.emulator.stats.requests).toEqual({});
  });

  it('refuses a request without a model as Ollama does', async () => {
    await expectOllamaError(await chat(gateway, { messages: [] }), 400, 'model is required');
  });

  it('refuses a body that is not a JSON object', async () => {
    await expectOllamaError(await chat(gateway, [{ model: CHAT_MODEL }]), 400, 'request body must be a JSON object');
  });

  it.each(['num_batch', 'num_gpu', 'main_gpu', 'use_mmap', 'num_thread'])(
    'refuses options.%s, which would reload the model, naming it',
    async (option) => {
      const response = await chat(gateway, {
        model: CHAT_MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
        options: { temperature: 0.1, [option]: 1 },
      });
      await expectOllamaError(
        response,
        400,
        new RegExp(`^options\\.${option} is not accepted here: .*reload the model`),
      );
      expect(gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(0);
    },
  );

  it('refuses a num_ctx other than the loaded context length, saying which one passes', async () => {
    const response = await postJson(
      `${gateway.url}/api/embed`,
      { model: EMBED_MODEL, input: 'x', options: { num_ctx: 8192 } },
      { headers: AUTH },
    );
    await expectOllamaError(
      response,
      400,
      `options.num_ctx 8192 differs from the context length ${EMBED_MODEL} is loaded with (4096), and would make ` +
        'Ollama reload the model; send num_ctx 4096 or none',
    );
    expect(gateway.emulator.requestCount({ endpoint: 'embed' })).toBe(0);
  });

  it('lets through the num_ctx the model is loaded with, and Ollama does not reload it', async () => {
    const response = await chat(gateway, {
      model: CHAT_MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      options: { num_ctx: 4096 },
      stream: false,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ done: true, model: CHAT_MODEL });
    expect(gateway.emulator.lastRequest({ endpoint: 'chat' })?.options).toEqual({ num_ctx: 4096 });
    expect(gateway.emulator.stats).toMatchObject({ loads: 0, unloads: 0 });
  });

  it.each([
    ['POST', '/api/pull', { model: 'mistral' }],
    ['POST', '/api/push', { model: CHAT_MODEL }],
    ['POST', '/api/create', { model: 'mine', from: CHAT_MODEL }],
    ['POST', '/api/copy', { source: CHAT_MODEL, destination: 'mine' }],
    ['DELETE', '/api/delete', { model: CHAT_MODEL }],
    ['POST', `/api/blobs/sha256:${'a'.repeat(64)}`, {}],
  ])('refuses %s %s with 403: the configuration decides which models exist', async (method, path, body) => {
    const response = await postJson(`${gateway.url}${path}`, body, { method, headers: AUTH });
    await expectOllamaError(response, 403, /configuration \(OLLAMA_MODEL, OLLAMA_MODELS\) decides which models exist/);
    expect(gateway.emulator.stats.requests).toEqual({});
  });

  it('refuses HEAD /api/blobs/<digest> with 403', async () => {
    const response = await fetch(`${gateway.url}/api/blobs/sha256:${'b'.repeat(64)}`, {
      method: 'HEAD',
      headers: AUTH,
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-request-id')).toMatch(/\S/);
  });

  describe('requests that are not well-formed HTTP or JSON', () => {
    it('answers an unknown route under /api with 404', async () => {
      await expectOllamaError(
        await fetch(`${gateway.url}/api/experimental/web_search`, { headers: AUTH }),
        404,
        'no route GET /api/experimental/web_search; see /docs for the API',
      );
    });

    it('answers a known route with the wrong method with 405 and Allow', async () => {
      const response = await fetch(`${gateway.url}/api/chat`, { headers: AUTH });
      expect(response.headers.get('allow')).toBe('POST');
      await expectOllamaError(response, 405, 'GET is not allowed on /api/chat; use POST');
    });

    it('answers a body over BODY_LIMIT_BYTES with 413', async () => {
      const response = await chat(gateway, {
        model: CHAT_MODEL,
        messages: [{ role: 'user', content: 'x'.repeat(5000) }],
      });
      await expectOllamaError(
        response,
        413,
        `request body is larger than ${BODY_LIMIT_BYTES} bytes (BODY_LIMIT_BYTES); send a smaller body`,
      );
    });

    it('answers a form that is not JSON with 400, without saying it was sent as JSON', async () => {
      const form = { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' };
      await expectOllamaError(
        await postJson(`${gateway.url}/api/generate`, 'model=llama3.1', { headers: form }),
        400,
        'the body is not valid JSON; send one JSON object',
      );
      await expectOllamaError(
        await postJson(`${gateway.url}/api/generate`, '', { headers: form }),
        400,
        'missing request body',
      );
      expect(gateway.emulator.requests({ endpoint: 'generate' })).toEqual([]);
    });

    it('answers malformed JSON with 400', async () => {
      await expectOllamaError(await chat(gateway, '{"model": "llama3.1", '), 400, /\S/);
    });
  });
});

describe('the rate limit on Ollama’s API', () => {
  let gateway: OllamaGateway;

  beforeAll(async () => {
    gateway = await startOllamaGateway({ env: { RATE_LIMIT_PER_MINUTE: '2' } });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('answers 429 with Retry-After in Ollama’s shape, and leaves GET / alone', async () => {
    for (let call = 0; call < 2; call += 1) {
      const allowed = await fetch(`${gateway.url}/api/tags`, { headers: AUTH });
      expect(allowed.status).toBe(200);
      await allowed.text();
    }
    const refused = await postJson(`${gateway.url}/api/chat`, { model: CHAT_MODEL, messages: [] }, { headers: AUTH });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectOllamaError(refused, 429, /^rate limit exceeded: at most 2 requests per minute/);
    for (let call = 0; call < 3; call += 1) {
      const probe = await fetch(`${gateway.url}/`);
      expect(probe.status).toBe(200);
      await probe.text();
    }
  });
});

describe('Ollama’s API while a model is not ready', () => {
  let gateway: OllamaGateway;

  beforeAll(async () => {
    // The warm-up load takes a minute: the models stay not ready for the whole test.
    gateway = await startOllamaGateway({ loadTimeMs: 60_000, waitUntilReady: false });
    await eventually('the default model to be loading', async () => {
      const health = (await (await fetch(`${gateway.url}/health/llm`)).json()) as {
        details?: { llm?: { models?: Record<string, { state: string }> } };
      };
      return health.details?.llm?.models?.[CHAT_MODEL]?.state === 'loading';
    });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('answers 503 with Retry-After in Ollama’s shape, and sends nothing to Ollama', async () => {
    gateway.emulator.resetStats();
    const response = await chat(gateway, { model: CHAT_MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectOllamaError(response, 503, `model ${CHAT_MODEL} is loading; retry shortly`);
    expect(gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(0);
  });
});

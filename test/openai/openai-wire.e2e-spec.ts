import { OpenAiExceptionFilter } from '../../src/openai/openai-exception.filter';
import { parseSse, postJson } from '../support/http';
import { Gateway, MODEL, startGateway } from './gateway';

const API_KEY = 'openai-wire-key-0123456789';
const AUTH = { authorization: `Bearer ${API_KEY}` };

function post(gateway: Gateway, body: unknown, headers: Record<string, string> = AUTH): Promise<Response> {
  return postJson(`${gateway.url}/v1/chat/completions`, body, { headers });
}

/** The `data:` payloads of a complete event stream, in order. */
function dataOf(text: string): string[] {
  const data = parseSse(text);
  // OpenAI's framing: each event is one `data:` line and nothing else.
  expect(data.map((payload) => `data: ${payload}\n\n`).join('')).toBe(text);
  return data;
}

describe('the OpenAI-compatible routes on the wire', () => {
  describe(OpenAiExceptionFilter.name, () => {
    let gateway: Gateway;

    beforeAll(async () => {
      gateway = await startGateway({ API_KEYS: API_KEY });
    });

    afterAll(async () => {
      await gateway?.close();
    });

    it('streams OpenAI server-sent events with unbuffered, uncached headers and ends with [DONE]', async () => {
      const response = await post(gateway, { model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(response.headers.get('cache-control')).toBe('no-cache, no-store');
      expect(response.headers.get('x-accel-buffering')).toBe('no');
      expect(response.headers.get('x-request-id')).toEqual(expect.any(String));
      const data = dataOf(await response.text());
      expect(data.at(-1)).toBe('[DONE]');
      const chunks = data.slice(0, -1).map((payload) => JSON.parse(payload) as { object: string });
      expect(chunks.length).toBeGreaterThan(2);
      expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    });

    it('refuses a request without a key with 401 in OpenAI’s shape and WWW-Authenticate', async () => {
      const response = await post(gateway, { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }, {});
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(await response.json()).toEqual({
        error: {
          message: expect.stringContaining('API key'),
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
    });

    it('refuses /v1/models without a key', async () => {
      const response = await fetch(`${gateway.url}/v1/models`);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    });

    it('refuses a field OpenAI does not know, naming it', async () => {
      const response = await post(gateway, { model: MODEL, messages: [{ role: 'user', content: 'Hi' }], top_k: 40 });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          message: 'Unrecognized request argument supplied: top_k',
          type: 'invalid_request_error',
          param: 'top_k',
          code: 'unknown_parameter',
        },
      });
    });

    it('refuses an out-of-range temperature in OpenAI’s shape, with the request id header', async () => {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'oa-400', ...AUTH },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], temperature: 3 }),
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('x-request-id')).toBe('oa-400');
      expect(await response.json()).toMatchObject({
        error: { type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' },
      });
    });

    it('documents the routes and their OpenAI error shape in the OpenAPI document', async () => {
      const document = (await (await fetch(`${gateway.url}/docs-json`)).json()) as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      expect(Object.keys(document.paths)).toEqual(
        expect.arrayContaining(['/v1/chat/completions', '/v1/models', '/v1/models/{model}']),
      );
      expect(document.paths['/v1/chat/completions'].post.responses).toHaveProperty('404');
      expect(JSON.stringify(document.paths['/v1/chat/completions'].post.responses['404'])).toContain('model_not_found');
    });

    it('answers an unknown model on /v1/models/:model with 404 model_not_found', async () => {
      const response = await fetch(`${gateway.url}/v1/models/${encodeURIComponent('library/mistral:7b')}`, {
        headers: AUTH,
      });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        error: {
          message: "The model 'library/mistral:7b' does not exist or you do not have access to it.",
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        },
      });
    });
  });

  describe('with a rate limit', () => {
    const LIMIT = 3;
    let gateway: Gateway;

    beforeAll(async () => {
      gateway = await startGateway({ API_KEYS: API_KEY, RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    });

    afterAll(async () => {
      await gateway?.close();
    });

    it('answers over the limit with 429 rate_limit_exceeded and Retry-After', async () => {
      // Readiness may have been probed through the API, spending some of the budget: count up to the refusal.
      let refusal: Response | undefined;
      let accepted = 0;
      for (let attempt = 0; attempt <= LIMIT && refusal === undefined; attempt++) {
        const response = await fetch(`${gateway.url}/v1/models`, { headers: AUTH });
        if (response.status === 429) {
          refusal = response;
        } else {
          expect(response.status).toBe(200);
          await response.arrayBuffer();
          accepted++;
        }
      }
      expect(accepted).toBeLessThanOrEqual(LIMIT);
      expect(refusal?.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(await refusal?.json()).toEqual({
        error: {
          message: expect.stringContaining('rate limit'),
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
        },
      });
    });
  });
});

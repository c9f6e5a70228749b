import OpenAI, { APIError } from 'openai';
import { MAX_HEADER_SIZE_BYTES, MAX_PARAM_LENGTH } from '../../src/security/server-limits';
import { onlyResponse, rawExchange } from '../security/support/raw-http';
import { Gateway, MODEL, startGateway } from './gateway';

const API_KEY = 'openai-key-0123456789abcdef';
const BODY_LIMIT_BYTES = 4096;
const HI = [{ role: 'user' as const, content: 'Hi' }];

function clientFor(gateway: Gateway, apiKey = API_KEY): OpenAI {
  // No retries: each test sees exactly the answer the gateway gave.
  return new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: 30_000 });
}

async function rejectionOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('the call succeeded');
}

/**
 * Checks that the SDK raised its `expected` class for `status` with a complete OpenAI error object (so
 * the SDK shows our message) and the request id it read from `X-Request-Id`.
 */
function expectSdkError(caught: unknown, expected: new (...args: never[]) => APIError, status: number): APIError {
  expect(caught).toBeInstanceOf(expected);
  const error = caught as APIError;
  expect(error.status).toBe(status);
  expect(error.error).toEqual({
    message: expect.any(String),
    type: expect.stringMatching(/^(invalid_request_error|requests)$/),
    param: null,
    code: error.code === null ? null : expect.any(String),
  });
  expect(error.message).toBe(`${status} ${(error.error as { message: string }).message}`);
  expect(error.requestID).toEqual(expect.any(String));
  return error;
}

async function sdkErrorOf(
  call: () => Promise<unknown>,
  expected: new (...args: never[]) => APIError,
  status: number,
): Promise<APIError> {
  return expectSdkError(await rejectionOf(call), expected, status);
}

describe('errors on /v1 decided before the route’s own handling, through the official openai client', () => {
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await startGateway({ API_KEYS: API_KEY, BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) });
    client = clientFor(gateway);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('raises AuthenticationError for a wrong key', async () => {
    const error = await sdkErrorOf(
      () => clientFor(gateway, 'wrong').chat.completions.create({ model: MODEL, messages: HI }),
      OpenAI.AuthenticationError,
      401,
    );
    expect(error.code).toBe('invalid_api_key');
  });

  it('raises NotFoundError for an unknown /v1 route, naming it', async () => {
    const error = await sdkErrorOf(() => client.get('/completions/legacy'), OpenAI.NotFoundError, 404);
    expect(error.error).toMatchObject({
      message: 'no route GET /v1/completions/legacy; see /docs for the API',
      code: 'not_found',
    });
  });

  it('raises an APIError 405 with Allow for a known /v1 route asked with the wrong method', async () => {
    const error = await sdkErrorOf(() => client.get('/chat/completions'), APIError, 405);
    expect(error.error).toMatchObject({
      message: 'GET is not allowed on /v1/chat/completions; use POST',
      code: 'method_not_allowed',
    });
    expect(error.headers?.get('allow')).toBe('POST');
  });

  it('raises an APIError 413 for a body over BODY_LIMIT_BYTES, naming the limit', async () => {
    const error = await sdkErrorOf(
      () => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(8_000) }] }),
      APIError,
      413,
    );
    expect(error.code).toBe('request_too_large');
    expect(error.error).toMatchObject({ message: expect.stringContaining('BODY_LIMIT_BYTES') });
  });

  it('raises an APIError 415 for a body that is not JSON', async () => {
    const error = await sdkErrorOf(
      () => client.post('/chat/completions', { body: '<messages/>', headers: { 'content-type': 'application/xml' } }),
      APIError,
      415,
    );
    expect(error.code).toBe('unsupported_media_type');
    expect(error.error).toMatchObject({
      message: "unsupported Content-Type 'application/xml'; send the body as application/json",
    });
  });

  it('raises BadRequestError for malformed JSON', async () => {
    const error = await sdkErrorOf(
      () =>
        client.post('/chat/completions', {
          body: `{"model": "${MODEL}", "messages": [`,
          headers: { 'content-type': 'application/json' },
        }),
      OpenAI.BadRequestError,
      400,
    );
    expect(error.type).toBe('invalid_request_error');
    expect(error.error).toMatchObject({ message: expect.stringContaining('JSON') });
  });

  it('raises an APIError 414 for a model name longer than any route parameter', async () => {
    const error = await sdkErrorOf(() => client.models.retrieve('m'.repeat(MAX_PARAM_LENGTH + 1)), APIError, 414);
    expect(error.error).toMatchObject({ message: expect.stringContaining(String(MAX_PARAM_LENGTH)) });
  });

  it('answers oversized headers on a /v1 path with 431 in OpenAI’s shape and the request id', async () => {
    const exchange = await rawExchange(gateway.url, [
      `GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'p'.repeat(MAX_HEADER_SIZE_BYTES)}\r\n\r\n`,
    ]);
    const response = onlyResponse(exchange);
    expect(response.status).toBe(431);
    expect(response.headers['x-request-id']).toEqual(expect.any(String));
    const body = JSON.parse(response.body) as object;
    expect(body).toEqual({
      error: {
        message: expect.stringContaining(`larger than ${MAX_HEADER_SIZE_BYTES} bytes`),
        type: 'invalid_request_error',
        param: null,
        code: 'request_headers_too_large',
      },
    });
    // What the SDK would raise for it: its message is ours.
    const raised = APIError.generate(431, body, undefined, new Headers(response.headers));
    expect(raised.message).toMatch(/^431 the request line and headers are larger than/);
  });
});

describe('the rate limit on /v1, through the official openai client', () => {
  const LIMIT = 2;
  let gateway: Gateway;

  beforeAll(async () => {
    gateway = await startGateway({ API_KEYS: API_KEY, RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('raises RateLimitError with rate_limit_exceeded once the key is over the limit', async () => {
    const client = clientFor(gateway);
    let caught: unknown;
    // Readiness may have been probed through the API, spending some of the budget: count up to the refusal.
    for (let attempt = 0; attempt <= LIMIT && caught === undefined; attempt++) {
      try {
        await client.models.list();
      } catch (error) {
        caught = error;
      }
    }
    const refusal = expectSdkError(caught, OpenAI.RateLimitError, 429);
    expect(refusal.code).toBe('rate_limit_exceeded');
    expect(refusal.headers?.get('retry-after')).toMatch(/^[1-9]\d*$/);
  });
});

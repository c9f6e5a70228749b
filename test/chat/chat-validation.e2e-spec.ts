import { ChatRequestDto } from '../../src/chat/dto/chat-request.dto';
import { Gateway, startGateway } from '../support/gateway';
import { postJson } from '../support/http';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  requestId: string;
}

const long = (length: number): string => 'x'.repeat(length);

/** Each body the contract rejects, and what the one-string message must name. */
const BAD_BODIES: Array<[string, unknown, string[]]> = [
  ['an empty object', {}, ['message must be a string']],
  ['a JSON array', [], ['message must be a string']],
  ['a JSON string', '"hello"', ['message must be a string']],
  ['JSON null', 'null', ['message must be a string']],
  ['a numeric message', { message: 5 }, ['message must be a string']],
  ['a message that is an object', { message: { text: 'hi' } }, ['message must be a string']],
  ['an empty message', { message: '' }, ['message must be longer than or equal to 1 characters']],
  [
    'a message of 32001 chars',
    { message: long(32_001) },
    ['message must be shorter than or equal to 32000 characters'],
  ],
  ['a numeric system prompt', { message: 'hi', system: 1 }, ['system must be a string']],
  [
    'a system prompt of 32001 chars',
    { message: 'hi', system: long(32_001) },
    ['system must be shorter than or equal to 32000'],
  ],
  ['history as text', { message: 'hi', history: 'x' }, ['history must be an array']],
  ['history as an object', { message: 'hi', history: { role: 'user' } }, ['history must be an array']],
  ['a history item that is a number', { message: 'hi', history: [5] }, ['each value in history must be an object']],
  [
    '101 history items',
    { message: 'hi', history: Array.from({ length: 101 }, () => ({ role: 'user', content: 'x' })) },
    ['history must contain no more than 100 elements'],
  ],
  [
    'a history item without a role',
    { message: 'hi', history: [{ content: 'x' }] },
    ['history.0.role must be one of system, user, assistant'],
  ],
  [
    'a tool role',
    { message: 'hi', history: [{ role: 'tool', content: 'x' }] },
    ['history.0.role must be one of system, user, assistant'],
  ],
  [
    'numeric history content',
    { message: 'hi', history: [{ role: 'user', content: 3 }] },
    ['history.0.content must be a string'],
  ],
  [
    'an unknown history field',
    { message: 'hi', history: [{ role: 'user', content: 'x', images: [] }] },
    ['property images should not exist'],
  ],
  ['options as a list', { message: 'hi', options: [] }, ['options must be an object']],
  ['options as text', { message: 'hi', options: 'hot' }, ['options must be an object']],
  [
    'a temperature of 2.1',
    { message: 'hi', options: { temperature: 2.1 } },
    ['options.temperature must not be greater than 2'],
  ],
  [
    'a negative temperature',
    { message: 'hi', options: { temperature: -1 } },
    ['options.temperature must not be less than 0'],
  ],
  [
    'a temperature as text',
    { message: 'hi', options: { temperature: 'warm' } },
    ['options.temperature must be a number'],
  ],
  ['a top_p of 1.5', { message: 'hi', options: { top_p: 1.5 } }, ['options.top_p must not be greater than 1']],
  [
    'a num_predict of 0',
    { message: 'hi', options: { num_predict: 0 } },
    ['options.num_predict must not be less than 1'],
  ],
  [
    'a num_predict of 8193',
    { message: 'hi', options: { num_predict: 8193 } },
    ['options.num_predict must not be greater than 8192'],
  ],
  [
    'a fractional num_predict',
    { message: 'hi', options: { num_predict: 10.5 } },
    ['options.num_predict must be an integer'],
  ],
  ['a fractional seed', { message: 'hi', options: { seed: 1.5 } }, ['options.seed must be an integer']],
  [
    'an option the caller may not set',
    { message: 'hi', options: { num_ctx: 8192 } },
    ['property num_ctx should not exist'],
  ],
  ['stream as text', { message: 'hi', stream: 'yes' }, ['stream must be a boolean value']],
  ['an unknown field', { message: 'hi', modell: 'other-model' }, ['property modell should not exist']],
  ['a model that is not a string', { message: 'hi', model: 42 }, ['model must be a string']],
  [
    'several problems at once',
    { message: '', stream: 1, extra: true },
    [
      'property extra should not exist',
      'message must be longer than or equal to 1 characters',
      'stream must be a boolean value',
    ],
  ],
];

describe(`${ChatRequestDto.name} over HTTP`, () => {
  let gateway: Gateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it.each(BAD_BODIES)(
    'refuses %s with 400 naming the field, without calling the model',
    async (_case, body, expected) => {
      const response = await postJson(`${gateway.url}/chat`, body, { headers: { 'x-request-id': 'bad-body' } });
      expect(response.status).toBe(400);
      const error = (await response.json()) as ErrorBody;
      expect(error).toMatchObject({ statusCode: 400, error: 'Bad Request', requestId: 'bad-body' });
      expect(typeof error.message).toBe('string');
      for (const part of expected) {
        expect(error.message).toContain(part);
      }
      expect(gateway.emulator.stats.requests.chat ?? 0).toBe(0);
    },
  );

  it('refuses a body that is not JSON with 400', async () => {
    const response = await postJson(`${gateway.url}/chat`, '{"message": "hi"', {
      headers: { 'x-request-id': 'not-json' },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(/JSON/),
      requestId: 'not-json',
    });
  });

  it('refuses a streamed request with a bad body as JSON, not as an event stream', async () => {
    const response = await postJson(`${gateway.url}/chat`, { message: '', stream: true });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('POST /chat body limit', () => {
  let gateway: Gateway;

  beforeAll(async () => {
    gateway = await startGateway({ BODY_LIMIT_BYTES: '2048' });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('refuses a body over BODY_LIMIT_BYTES with 413', async () => {
    const response = await postJson(
      `${gateway.url}/chat`,
      { message: long(3000) },
      { headers: { 'x-request-id': 'too-large' } },
    );
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'request body is larger than 2048 bytes (BODY_LIMIT_BYTES); send a smaller body',
      requestId: 'too-large',
    });
    expect(gateway.emulator.stats.requests.chat ?? 0).toBe(0);
  });

  it('accepts a body just under the limit', async () => {
    const response = await postJson(`${gateway.url}/chat`, { message: long(1900) });
    expect(response.status).toBe(200);
  });
});

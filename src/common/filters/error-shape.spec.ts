import { errorBodyFor, errorShapeOf } from './error-shape';

describe(errorShapeOf.name, () => {
  it.each(['/v1', '/v1/', '/v1/chat/completions', '/v1/models/llama3.1:latest', '/v1?x=1', '/v1/nowhere?a=b'])(
    'answers %s in OpenAI’s shape',
    (url) => {
      expect(errorShapeOf(url)).toBe('openai');
    },
  );

  it.each(['/api', '/api/', '/api/chat', '/api/tags?x=1', '/api/v1/chat', '/api/nowhere', '/', '/?probe=1'])(
    'answers %s in Ollama’s shape',
    (url) => {
      expect(errorShapeOf(url)).toBe('ollama');
    },
  );

  it.each([
    '/chat',
    '/risk/assess',
    '/health/live',
    '/v10/models',
    '/v1x',
    '/V1/models',
    '/docs',
    '/apix',
    '/API/chat',
    '//api',
    // An unreadable request, whose path is not known.
    '',
  ])('answers %j in the service’s shape', (url) => {
    expect(errorShapeOf(url)).toBe('service');
  });
});

describe(errorBodyFor.name, () => {
  it('words an answer on /v1 as OpenAI’s error object, which SDKs read the message from', () => {
    expect(errorBodyFor('/v1/chat/completions', 413, 'request body is larger than 2048 bytes', 'r-1')).toEqual({
      error: {
        message: 'request body is larger than 2048 bytes',
        type: 'invalid_request_error',
        param: null,
        code: 'request_too_large',
      },
    });
    expect(errorBodyFor('/v1/nowhere', 404, 'no route GET /v1/nowhere', 'r-2')).toEqual({
      error: { message: 'no route GET /v1/nowhere', type: 'invalid_request_error', param: null, code: 'not_found' },
    });
  });

  it('gives each client error on /v1 the code OpenAI clients branch on', () => {
    const codes = [400, 401, 404, 405, 408, 413, 415, 429, 431].map((status) => {
      const body = errorBodyFor('/v1/models', status, 'm', 'r') as { error: { code: string | null; type: string } };
      return [status, body.error.type, body.error.code];
    });
    expect(codes).toEqual([
      [400, 'invalid_request_error', null],
      [401, 'invalid_request_error', 'invalid_api_key'],
      [404, 'invalid_request_error', 'not_found'],
      [405, 'invalid_request_error', 'method_not_allowed'],
      [408, 'invalid_request_error', 'request_timeout'],
      [413, 'invalid_request_error', 'request_too_large'],
      [415, 'invalid_request_error', 'unsupported_media_type'],
      [429, 'requests', 'rate_limit_exceeded'],
      [431, 'invalid_request_error', 'request_headers_too_large'],
    ]);
  });

  it('words an answer anywhere else as the contract’s body, with the request id', () => {
    expect(errorBodyFor('/chat?debug=1', 408, 'the request body did not arrive within 60 s', 'r-3')).toEqual({
      statusCode: 408,
      error: 'Request Timeout',
      message: 'the request body did not arrive within 60 s',
      requestId: 'r-3',
    });
  });

  it('words an answer on /api and / as Ollama’s {"error"} body, which Ollama’s clients show', () => {
    expect(errorBodyFor('/api/chat', 401, 'invalid API key', 'r-5')).toEqual({ error: 'invalid API key' });
    expect(errorBodyFor('/api/nowhere?x=1', 404, 'no route GET /api/nowhere', 'r-6')).toEqual({
      error: 'no route GET /api/nowhere',
    });
    expect(errorBodyFor('/', 405, 'POST is not allowed on /; use GET or HEAD', 'r-7')).toEqual({
      error: 'POST is not allowed on /; use GET or HEAD',
    });
  });

  it('names a status Node has no phrase for plainly', () => {
    expect(errorBodyFor('/chat', 599, 'odd', 'r-4')).toMatchObject({ statusCode: 599, error: 'Error' });
  });
});

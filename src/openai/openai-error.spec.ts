import {
  BadRequestException,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { BadGatewayError, InvalidRequestError, ServiceUnavailableError, UpstreamTimeoutError } from '../common/errors';
import { OpenAiRequestError, openAiErrorBodyFor, toOpenAiErrorResponse } from './openai-error';

const REQUEST_ID = 'req-1';

describe(toOpenAiErrorResponse.name, () => {
  it('answers an unknown model with OpenAI’s own 404 body', () => {
    expect(toOpenAiErrorResponse(OpenAiRequestError.modelNotFound('gpt-4o'), REQUEST_ID)).toEqual({
      status: 404,
      headers: {},
      body: {
        error: {
          message: "The model 'gpt-4o' does not exist or you do not have access to it.",
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        },
      },
    });
  });

  it('keeps the field of a validation refusal in param', () => {
    const response = toOpenAiErrorResponse(OpenAiRequestError.invalid('bad', 'messages[0].role'), REQUEST_ID);
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      message: 'bad',
      type: 'invalid_request_error',
      param: 'messages[0].role',
      code: null,
    });
  });

  it('answers an unavailable model with 503, server_error, its reason as code and Retry-After', () => {
    const response = toOpenAiErrorResponse(
      new ServiceUnavailableError('the model is loading; retry shortly', 'not_ready', 4.2),
      REQUEST_ID,
    );
    expect(response).toEqual({
      status: 503,
      headers: { 'retry-after': '5' },
      body: {
        error: { message: 'the model is loading; retry shortly', type: 'server_error', param: null, code: 'not_ready' },
      },
    });
  });

  it('keeps 502 and 504 from upstream trouble, with the service’s own summary', () => {
    const gateway = toOpenAiErrorResponse(new BadGatewayError('the model server failed to answer'), REQUEST_ID);
    expect(gateway.status).toBe(502);
    expect(gateway.body.error).toMatchObject({ type: 'server_error', code: 'upstream_error' });
    const timeout = toOpenAiErrorResponse(new UpstreamTimeoutError('no answer within 35 s'), REQUEST_ID);
    expect(timeout.status).toBe(504);
    expect(timeout.body.error).toMatchObject({
      message: 'no answer within 35 s',
      type: 'server_error',
      code: 'upstream_timeout',
    });
  });

  it('answers a domain refusal of the request with 400 invalid_request_error', () => {
    const response = toOpenAiErrorResponse(new InvalidRequestError('cannot do that'), REQUEST_ID);
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      message: 'cannot do that',
      type: 'invalid_request_error',
      param: null,
      code: null,
    });
  });

  it('answers a refused API key with 401 invalid_api_key', () => {
    const response = toOpenAiErrorResponse(new UnauthorizedException('invalid API key'), REQUEST_ID);
    expect(response.status).toBe(401);
    expect(response.body.error).toEqual({
      message: 'invalid API key',
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_api_key',
    });
  });

  it('answers the rate limit with 429 rate_limit_exceeded', () => {
    const response = toOpenAiErrorResponse(new ThrottlerException('rate limit exceeded'), REQUEST_ID);
    expect(response.status).toBe(429);
    expect(response.body.error).toEqual({
      message: 'rate limit exceeded',
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    });
  });

  it('keeps the status and message of other client errors', () => {
    const response = toOpenAiErrorResponse(new BadRequestException(['a is wrong', 'b is wrong']), REQUEST_ID);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe('a is wrong; b is wrong');
    expect(toOpenAiErrorResponse(new HttpException('too large', 413), REQUEST_ID).body.error.code).toBe(
      'request_too_large',
    );
  });

  it('does not reveal the path of a missing resource', () => {
    const response = toOpenAiErrorResponse(new NotFoundException('Cannot GET /v1/secret'), REQUEST_ID);
    expect(response.status).toBe(404);
    expect(response.body.error.message).not.toContain('/v1/secret');
  });

  it('answers a 503 raised by the framework with Retry-After', () => {
    const response = toOpenAiErrorResponse(new ServiceUnavailableException('shutting down'), REQUEST_ID);
    expect(response.status).toBe(503);
    expect(response.headers).toEqual({ 'retry-after': '5' });
  });

  it.each([
    ['an unexpected error', new TypeError("Cannot read properties of undefined (reading 'x') at /app/src/x.ts:1")],
    ['a framework 500', new InternalServerErrorException('database password is hunter2')],
    ['a thrown string', 'boom'],
  ])('answers %s with 500 api_error that names only the request id', (_case, exception) => {
    const response = toOpenAiErrorResponse(exception, REQUEST_ID);
    expect(response.status).toBe(500);
    expect(response.body.error.type).toBe('api_error');
    expect(response.body.error.message).toContain(REQUEST_ID);
    expect(response.body.error.message).not.toMatch(/hunter2|\/app\/src|Cannot read|boom/);
  });
});

describe(openAiErrorBodyFor.name, () => {
  it('words an answer decided before routing in OpenAI’s shape', () => {
    expect(openAiErrorBodyFor(413, 'request body is larger than 1048576 bytes')).toEqual({
      error: {
        message: 'request body is larger than 1048576 bytes',
        type: 'invalid_request_error',
        param: null,
        code: 'request_too_large',
      },
    });
    expect(openAiErrorBodyFor(400, 'request body is not valid JSON').error).toMatchObject({
      type: 'invalid_request_error',
      code: null,
    });
    expect(openAiErrorBodyFor(503, 'shutting down').error.type).toBe('server_error');
    expect(openAiErrorBodyFor(500, 'internal error').error.type).toBe('api_error');
  });
});

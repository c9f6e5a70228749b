import { HttpException, NotFoundException } from '@nestjs/common';
import { DomainError, ServiceUnavailableError } from '../common/errors';

/**
 * `type` values OpenAI uses in its error bodies. Clients branch on the HTTP status (the SDKs map it to
 * an error class), some also on `type` and `code`, so both follow OpenAI's own answers: a 401 is an
 * `invalid_request_error` with code `invalid_api_key`, a 429 for too many requests has type `requests`.
 */
export type OpenAiErrorType = 'invalid_request_error' | 'requests' | 'api_error' | 'server_error';

/** The `error` member of OpenAI's error body `{"error": {...}}`. */
export interface OpenAiErrorObject {
  message: string;
  type: OpenAiErrorType;
  /** The request field at fault, e.g. `messages[2].content`, when there is one. */
  param: string | null;
  code: string | null;
}

export interface OpenAiErrorBody {
  error: OpenAiErrorObject;
}

/** An error answer of the OpenAI-compatible routes: status, body and the headers that go with it. */
export interface OpenAiErrorResponse {
  status: number;
  body: OpenAiErrorBody;
  headers: Record<string, string>;
}

/**
 * A refusal worded for OpenAI clients. It is a `DomainError`, so should it ever reach the service's
 * global filter it still keeps its status and message.
 */
export class OpenAiRequestError extends DomainError {
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  /** 400: the request is malformed or asks for something this server does not do. */
  static invalid(message: string, param: string | null = null, code: string | null = null): OpenAiRequestError {
    return new OpenAiRequestError(400, message, 'invalid_request_error', param, code);
  }

  /** 404 with OpenAI's own wording for a model it does not serve. */
  static modelNotFound(model: string): OpenAiRequestError {
    return new OpenAiRequestError(
      404,
      `The model '${model}' does not exist or you do not have access to it.`,
      'invalid_request_error',
      'model',
      'model_not_found',
    );
  }

  toObject(): OpenAiErrorObject {
    return { message: this.message, type: this.type, param: this.param, code: this.code };
  }
}

/** Said for failures whose details stay in the log. */
export function internalErrorMessage(requestId: string): string {
  return `The server had an error while processing your request; report request id ${requestId} to the operator.`;
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') {
    return response;
  }
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) {
    return message.map(String).join('; ');
  }
  return typeof message === 'string' ? message : exception.message;
}

/** Codes for the client errors Nest and its guards raise; the status alone says the rest. */
function clientErrorCode(status: number): string | null {
  switch (status) {
    case 401:
      return 'invalid_api_key';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 408:
      return 'request_timeout';
    case 413:
      return 'request_too_large';
    case 415:
      return 'unsupported_media_type';
    case 431:
      return 'request_headers_too_large';
    case 429:
      return 'rate_limit_exceeded';
    default:
      return null;
  }
}

/**
 * OpenAI's error body for an answer already decided elsewhere (status and message): by the service's
 * global filter or before routing (unknown route, wrong method, unreadable or oversized body, slow or
 * malformed request) on `/v1` paths. `errorBodyFor` in `common/filters/error-shape.ts` decides when.
 */
export function openAiErrorBodyFor(status: number, message: string): OpenAiErrorBody {
  if (status >= 500) {
    return { error: { message, type: status === 500 ? 'api_error' : 'server_error', param: null, code: null } };
  }
  const type: OpenAiErrorType = status === 429 ? 'requests' : 'invalid_request_error';
  return { error: { message, type, param: null, code: clientErrorCode(status) } };
}

function serverError(
  status: number,
  message: string,
  code: string,
  headers: Record<string, string> = {},
): OpenAiErrorResponse {
  const type: OpenAiErrorType = status === 500 ? 'api_error' : 'server_error';
  return { status, body: { error: { message, type, param: null, code } }, headers };
}

/**
 * How an exception raised on an OpenAI-compatible route looks on the wire. Statuses follow the
 * service's contract (502, 503 with `Retry-After`, 504; never an upstream's raw text); anything not
 * foreseen is a 500 that says no more than the request id. Headers already set on the reply by a guard
 * (`WWW-Authenticate`, `Retry-After` of the rate limit) are kept by the caller, not repeated here.
 */
export function toOpenAiErrorResponse(exception: unknown, requestId: string): OpenAiErrorResponse {
  if (exception instanceof OpenAiRequestError) {
    return { status: exception.status, body: { error: exception.toObject() }, headers: {} };
  }
  if (exception instanceof ServiceUnavailableError) {
    const retryAfter = String(Math.max(1, Math.ceil(exception.retryAfterSeconds)));
    return serverError(503, exception.message, exception.reason, { 'retry-after': retryAfter });
  }
  if (exception instanceof DomainError) {
    const status = exception.status;
    if (status >= 500) {
      const code = status === 504 ? 'upstream_timeout' : status === 502 ? 'upstream_error' : 'server_error';
      return serverError(status, exception.message, code);
    }
    const { param, code } = exception as DomainError & { param?: string; code?: string };
    return {
      status,
      body: {
        error: { message: exception.message, type: 'invalid_request_error', param: param ?? null, code: code ?? null },
      },
      headers: {},
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 503) {
      return serverError(503, messageOf(exception), 'unavailable', { 'retry-after': '5' });
    }
    if (status >= 500) {
      return status === 500
        ? serverError(500, internalErrorMessage(requestId), 'internal_error')
        : serverError(status, messageOf(exception), 'server_error');
    }
    const message =
      exception.constructor === NotFoundException ? 'The requested resource does not exist.' : messageOf(exception);
    return { status, body: openAiErrorBodyFor(status, message), headers: {} };
  }
  return serverError(500, internalErrorMessage(requestId), 'internal_error');
}

import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Inject,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig, appConfig } from '../../config/configuration';
import { DomainError, ServiceUnavailableError } from '../errors';
import { errorBodyFor } from './error-shape';
import { notJsonMessage } from '../http/body-parsers';

export type { ErrorBody } from './error-shape';

interface MappedError {
  status: number;
  message: string;
  headers: Record<string, string>;
  /** A body other than the error body: Terminus' health result, which probes and operators read as is. */
  body?: object;
}

/** The methods a route may answer; HEAD comes with every GET route. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

function isHealthCheckResult(response: unknown): response is object {
  return (
    typeof response === 'object' &&
    response !== null &&
    'status' in response &&
    'details' in response &&
    'error' in response
  );
}

/**
 * Fastify's own refusals (body too large, wrong content type, unreadable JSON) reach the filter as plain
 * `HttpException`s that Nest made from them, with Fastify's text. These say what to fix instead.
 */
function parserMessage(status: number, request: FastifyRequest, bodyLimitBytes: number): string | undefined {
  switch (status) {
    case 413:
      return `request body is larger than ${bodyLimitBytes} bytes (BODY_LIMIT_BYTES); send a smaller body`;
    case 415:
      return notJsonMessage(request.headers['content-type']);
    default:
      return undefined;
  }
}

function messageOf(response: string | object): string {
  if (typeof response === 'string') {
    return response;
  }
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) {
    return message.map(String).join('; ');
  }
  return typeof message === 'string' ? message : 'request failed';
}

/**
 * The one place where errors become HTTP answers. Domain errors map to their status, Nest and Fastify
 * client errors keep theirs, anything else is a 500 whose details stay in the log. No stack trace,
 * file path or upstream error text is ever sent. Streams that already sent their headers are only
 * ended: their error event is the stream's own business. The body has the shape the path's callers
 * read (`errorBodyFor`): OpenAI's under `/v1`, Ollama's under `/api` and on `/`, CONTRACT §2's elsewhere.
 * A path that exists, asked with a method it does not take, is answered 405 with `Allow`.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);

  constructor(
    @Inject(appConfig.KEY) private readonly app: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const mapped = this.map(exception, request);

    if (reply.raw.headersSent || reply.sent) {
      if (!reply.raw.writableEnded) {
        reply.raw.end();
      }
      return;
    }
    const body = mapped.body ?? errorBodyFor(request.url, mapped.status, mapped.message, String(request.id));
    void reply.status(mapped.status).headers(mapped.headers).send(body);
  }

  private map(exception: unknown, request: FastifyRequest): MappedError {
    if (exception instanceof ServiceUnavailableError) {
      return {
        status: exception.status,
        message: exception.message,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(exception.retryAfterSeconds))) },
      };
    }
    if (exception instanceof DomainError) {
      return { status: exception.status, message: exception.message, headers: {} };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const headers: Record<string, string> = {};
      if (status === 503) {
        headers['retry-after'] = '5';
      }
      const response = exception.getResponse();
      if (isHealthCheckResult(response)) {
        return { status, message: '', headers, body: response };
      }
      if (status >= 500) {
        this.logger.error({ err: exception, reqId: request.id }, 'request failed');
      }
      if (exception.constructor === HttpException) {
        const message = parserMessage(status, request, this.app.bodyLimitBytes);
        if (message !== undefined) {
          return { status, message, headers };
        }
      }
      if (status === 404 && exception.constructor === NotFoundException && request.routeOptions.url === undefined) {
        return this.unknownRoute(request);
      }
      return { status, message: messageOf(response), headers };
    }
    this.logger.error({ err: exception, reqId: request.id }, 'unexpected error');
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      message: `internal error; report request id ${String(request.id)} to the operator`,
      headers: {},
    };
  }

  /** 404 for a path no route has; 405 with `Allow` for a path that has routes for other methods only. */
  private unknownRoute(request: FastifyRequest): MappedError {
    const path = request.url.split('?', 1)[0];
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const allowed = METHODS.filter((method) => fastify.findRoute({ method, url: path }) !== null);
    if (allowed.length === 0) {
      return { status: 404, message: `no route ${request.method} ${path}; see /docs for the API`, headers: {} };
    }
    return {
      status: 405,
      message: `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`,
      headers: { allow: allowed.join(', ') },
    };
  }
}

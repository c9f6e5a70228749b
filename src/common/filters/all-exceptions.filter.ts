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
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig, appConfig } from '../../config/configuration';
import { DomainError, ServiceUnavailableError } from '../errors';

/** The error body of CONTRACT §2. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  requestId: string;
}

interface MappedError {
  status: number;
  message: string;
  headers: Record<string, string>;
  /** A body other than the error body: Terminus' health result, which probes and operators read as is. */
  body?: object;
}

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
    case 415: {
      const type = String(request.headers['content-type'] ?? 'none').split(';')[0];
      return `unsupported Content-Type '${type}'; send the body as application/json`;
    }
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
 * ended: their error event is the stream's own business.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);

  constructor(@Inject(appConfig.KEY) private readonly app: AppConfig) {}

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
    const body: ErrorBody = {
      statusCode: mapped.status,
      error: STATUS_CODES[mapped.status] ?? 'Error',
      message: mapped.message,
      requestId: String(request.id),
    };
    void reply
      .status(mapped.status)
      .headers(mapped.headers)
      .send(mapped.body ?? body);
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
      if (status === 404 && exception.constructor === NotFoundException) {
        const path = request.url.split('?')[0];
        return { status, message: `no route ${request.method} ${path}; see /docs for the API`, headers };
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
}

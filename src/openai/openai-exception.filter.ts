import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../common/errors';
import { toOpenAiErrorResponse } from './openai-error';

/**
 * Answers every failure on the OpenAI-compatible routes in OpenAI's error shape
 * `{"error": {message, type, param, code}}`, so the SDKs raise their usual error classes. Bound to
 * those controllers only; it sees guard (401, 429) and pipe errors too. Headers a guard set before
 * throwing (`WWW-Authenticate`, `Retry-After`) stay on the reply. A stream that already sent its
 * headers is only ended: its error event is the stream's own business.
 */
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(OpenAiExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const requestId = String(request.id);
    const { status, body, headers } = toOpenAiErrorResponse(exception, requestId);

    if (status === 500 || (status > 500 && !(exception instanceof DomainError))) {
      this.logger.error({ err: exception, reqId: requestId }, 'request failed');
    }
    if (reply.raw.headersSent || reply.sent) {
      if (!reply.raw.writableEnded) {
        reply.raw.end();
      }
      return;
    }
    void reply.status(status).headers(headers).send(body);
  }
}

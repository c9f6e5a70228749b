import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { MetricsService } from '../../metrics/metrics.service';
import { UNMATCHED_ROUTE, claimDurationSample } from './duration-sample';

/** nginx's convention for "the client closed the connection before the answer was complete". */
export const CLIENT_CLOSED_REQUEST = 499;

/** `X-Response-Time` as the contract writes it: milliseconds with three decimals. */
export function formatResponseTime(elapsedMs: number): string {
  return `${elapsedMs.toFixed(3)}ms`;
}

/**
 * Records every routed request in `http_request_duration_seconds`, labelled with the route template
 * (`/chat`, never a raw URL). It measures when the response closes rather than when the handler's
 * observable ends: only then are the final status code (set by the exception filter for errors) and
 * the end of a stream known, and a client that went away mid-stream is recorded as 499.
 * Durations run from the request's arrival (Fastify's `elapsedTime`), so guards and pipes count too.
 * Answers that never reach a handler (a guard's refusal, an unreadable body, an unknown route) are
 * recorded by `PreRoutingAnswers` instead.
 */
@Injectable()
export class LatencyInterceptor implements NestInterceptor {
  constructor(private readonly metrics: MetricsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') {
      return next.handle();
    }
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;

    // A streamed answer sends its headers before any `onSend` hook could add this one.
    reply.raw.setHeader('x-response-time', formatResponseTime(reply.elapsedTime));

    if (!claimDurationSample(reply.raw)) {
      return next.handle();
    }
    reply.raw.once('close', () => {
      const status = reply.raw.writableFinished ? reply.raw.statusCode : CLIENT_CLOSED_REQUEST;
      this.metrics.httpRequestDuration.labels(request.method, route, String(status)).observe(reply.elapsedTime / 1000);
    });
    return next.handle();
  }
}

import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Histogram } from 'prom-client';
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
 *
 * It runs on every request, so it does as little as it can: the histogram's child for each method,
 * route and status is made once and kept (making one checks the labels and builds two closures; its
 * `observe` still checks and hashes them, as prom-client 15 does for every sample), and the request
 * and reply are taken from the context's arguments directly.
 */
@Injectable()
export class LatencyInterceptor implements NestInterceptor {
  private readonly series = new Map<string, Histogram.Internal<'method' | 'route' | 'status_code'>>();

  constructor(private readonly metrics: MetricsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') {
      return next.handle();
    }
    const request = context.getArgByIndex<FastifyRequest>(0);
    const reply = context.getArgByIndex<FastifyReply>(1);
    const raw = reply.raw;

    // A streamed answer sends its headers before any `onSend` hook could add this one.
    raw.setHeader('x-response-time', formatResponseTime(reply.elapsedTime));

    if (claimDurationSample(raw)) {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      raw.once('close', () => {
        const status = raw.writableFinished ? raw.statusCode : CLIENT_CLOSED_REQUEST;
        this.seriesOf(request.method, route, status).observe(reply.elapsedTime / 1000);
      });
    }
    return next.handle();
  }

  private seriesOf(
    method: string,
    route: string,
    status: number,
  ): Histogram.Internal<'method' | 'route' | 'status_code'> {
    const key = `${method} ${route} ${status}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = this.metrics.httpRequestDuration.labels(method, route, String(status));
      this.series.set(key, series);
    }
    return series;
  }
}

import { BadRequestException, Logger, UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyError, FastifyHttpOptions, FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, METHODS, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ROUTE_TEMPLATE } from '../../logging/logger.options';
import { requestIdOf } from '../../logging/request-id';
import type { MetricsService } from '../../metrics/metrics.service';
import {
  MAX_HEADER_SIZE_BYTES,
  MAX_PARAM_LENGTH,
  lacksHostHeader,
  unsupportedContentCoding,
} from '../../security/server-limits';
import { JSON_CONTENT_TYPE } from '../http/content-types';
import { UNMATCHED_ROUTE, claimDurationSample } from '../interceptors/duration-sample';
import { formatResponseTime } from '../interceptors/latency.interceptor';
import { errorBodyFor } from './error-shape';

/** When a connection became ready for the request it is receiving now: accepted, or its last answer written. */
const READY_SINCE = Symbol('readySince');

/** Set on a request refused before the access log's hook ran, so its answer is logged here. */
const UNLOGGED = Symbol('unlogged');

/** `_httpMessage` is Node's: the response that owns the socket now, if any. */
type TrackedSocket = Socket & { [READY_SINCE]?: number; _httpMessage?: ServerResponse | null };
type RawRequest = IncomingMessage & { id?: string; [ROUTE_TEMPLATE]?: string; [UNLOGGED]?: true };

/** Who asked for what, as far as it is known when the answer is decided. */
interface Asker {
  method: string;
  url: string;
  route: string;
  requestId: string;
}

/** A request line at the start of what the parser choked on: enough to pick the error shape. */
const REQUEST_LINE = /^([A-Z]{3,7}) (\/[^\s]*) HTTP\/1\.[01]\r?\n/;

/** What a `clientError` is answered with; `undefined` for a connection that failed rather than a request. */
function clientErrorStatus(code: string): number | undefined {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    default:
      return code.startsWith('HPE_') ? 400 : undefined;
  }
}

/** The method and path of a request the parser refused, when its request line can be read. */
function askerOfUnparsed(rawPacket: unknown): Asker {
  // No path at all rather than `/`, which is a path of Ollama's API: an unreadable request gets the service's body.
  const unknown: Asker = { method: 'unknown', url: '', route: UNMATCHED_ROUTE, requestId: randomUUID() };
  if (!Buffer.isBuffer(rawPacket)) {
    return unknown;
  }
  const line = REQUEST_LINE.exec(rawPacket.subarray(0, 2048).toString('latin1'));
  if (line === null || !METHODS.includes(line[1])) {
    return unknown;
  }
  return { ...unknown, method: line[1], url: line[2] };
}

function askerOf(req: RawRequest, route = req[ROUTE_TEMPLATE] ?? UNMATCHED_ROUTE): Asker {
  return { method: req.method ?? 'unknown', url: req.url ?? '/', route, requestId: req.id ?? requestIdOf(req) };
}

/**
 * The answers decided before a request reaches the application, or instead of it: Node's own refusals
 * (slow headers or body 408, oversized headers 431, unparsable HTTP 400), Fastify's refusals of a path
 * (bad percent-encoding 400, an over-long parameter 414), unsupported `Expect` headers (417) and
 * bodies in a content coding the service does not read (415). Node and Fastify would write these
 * with bodies of their own, or none, and without `X-Request-Id`; here each gets the error body its
 * path's callers read (`errorBodyFor`), the request id, one sample in `http_request_duration_seconds`
 * and one log line. The same class records the answers Fastify writes for requests that never reach a
 * handler (unknown routes, unreadable bodies, guards' refusals), which the latency interceptor cannot
 * see. A connection whose request was refused by Node is closed after the answer: what follows on it
 * cannot be trusted to start at a request boundary.
 *
 * Built before the Fastify adapter (which takes `serverOptions()`), bound to the application's metrics
 * by `attach()` before the server listens.
 */
export class PreRoutingAnswers {
  private readonly logger = new Logger('HTTP');
  private metrics: MetricsService | undefined;
  private server: Server | undefined;

  /** Options for `new FastifyAdapter({...})` that route Node's and Fastify's own answers through here. */
  serverOptions(): Pick<FastifyHttpOptions<Server>, 'clientErrorHandler' | 'frameworkErrors'> {
    return {
      clientErrorHandler: (error, socket) => this.answerClientError(error, socket),
      frameworkErrors: (error, request, reply) =>
        this.answerFrameworkError(error, request.raw as RawRequest, reply.raw, String(request.id)),
    };
  }

  /**
   * Records the answers Fastify writes without the latency interceptor (one `onResponse` hook, which
   * only reads a flag for routed requests), and answers unsupported `Expect` headers.
   */
  attach(fastify: FastifyInstance, metrics: MetricsService): void {
    this.metrics = metrics;
    this.server = fastify.server;
    fastify.server.on('connection', (socket: TrackedSocket) => {
      socket[READY_SINCE] = performance.now();
    });
    fastify.server.on('checkExpectation', (req: RawRequest, res: ServerResponse) => this.answerExpectation(req, res));
    fastify.addHook('onResponse', (request, reply, done) => {
      const socket = request.raw.socket as TrackedSocket | null;
      if (socket !== null) {
        socket[READY_SINCE] = performance.now();
      }
      if (claimDurationSample(reply.raw)) {
        const unlogged = (request.raw as RawRequest)[UNLOGGED] === true;
        const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
        this.record(request.method, route, reply.statusCode, reply.elapsedTime, unlogged ? request.id : undefined);
      }
      done();
    });
  }

  /**
   * The error the first `onRequest` hook raises for a request HTTP requires refusing before anything
   * else looks at it; `undefined` for every other request. An HTTP/1.1 request without `Host`, which
   * Node would answer with a bare 400, gets 400 and a closed connection; a body in a content coding
   * other than `identity` gets 415 with `Accept-Encoding: identity`, as HTTP asks.
   */
  refusalOf(req: IncomingMessage, res: ServerResponse): Error | undefined {
    if (lacksHostHeader(req)) {
      (req as RawRequest)[UNLOGGED] = true;
      res.setHeader('connection', 'close');
      return new BadRequestException('an HTTP/1.1 request needs a Host header; send one');
    }
    const coding = unsupportedContentCoding(req);
    if (coding !== undefined) {
      (req as RawRequest)[UNLOGGED] = true;
      res.setHeader('accept-encoding', 'identity');
      return new UnsupportedMediaTypeException(
        `unsupported Content-Encoding '${coding}'; send the body uncompressed, without Content-Encoding`,
      );
    }
    return undefined;
  }

  private answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: TrackedSocket): void {
    const status = clientErrorStatus(error.code ?? '');
    if (status === undefined || socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    const inFlight = socket._httpMessage ?? undefined;
    const req = inFlight?.req as RawRequest | undefined;
    if (inFlight !== undefined && (inFlight.headersSent || req?.complete === true)) {
      // An answer is under way (or the request it answers was whole): whatever failed came after it.
      // Nothing can be said without corrupting that answer, so the connection just ends.
      socket.destroy();
      return;
    }
    const asker = req === undefined ? askerOfUnparsed(error.rawPacket) : askerOf(req);
    if (inFlight !== undefined && !claimDurationSample(inFlight)) {
      socket.destroy();
      return;
    }
    const elapsedMs = this.elapsedOn(socket);
    const message = this.clientErrorMessage(status, req !== undefined);
    const body = JSON.stringify(errorBodyFor(asker.url, status, message, asker.requestId));
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
      `content-type: ${JSON_CONTENT_TYPE}`,
      `content-length: ${Buffer.byteLength(body)}`,
      `x-request-id: ${asker.requestId}`,
      `x-response-time: ${formatResponseTime(elapsedMs)}`,
      'cache-control: no-store',
      `date: ${new Date().toUTCString()}`,
      'connection: close',
    ];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
    this.record(asker.method, asker.route, status, elapsedMs, asker.requestId);
  }

  private clientErrorMessage(status: number, headersReceived: boolean): string {
    const seconds = (ms: number | undefined): string => `${(ms ?? 0) / 1000} s`;
    switch (status) {
      case 408:
        return headersReceived
          ? `the request body did not arrive within ${seconds(this.server?.requestTimeout)}; send it without pausing`
          : `the request line and headers did not arrive within ${seconds(this.server?.headersTimeout)}; send them without pausing`;
      case 431:
        return `the request line and headers are larger than ${MAX_HEADER_SIZE_BYTES} bytes; send fewer or shorter headers`;
      case 413:
        return 'a chunk extension of the request body is too long; send the body without chunk extensions';
      default:
        return 'the request is not valid HTTP/1.1; check the request line, the headers and the body framing';
    }
  }

  private answerFrameworkError(error: FastifyError, req: RawRequest, res: ServerResponse, requestId: string): void {
    const status = error.statusCode ?? 500;
    let message: string;
    switch (error.code) {
      case 'FST_ERR_BAD_URL':
        message = 'the URL path is not valid percent-encoded UTF-8; encode the path correctly';
        break;
      case 'FST_ERR_MAX_PARAM_LENGTH':
        message = `a path parameter is longer than ${MAX_PARAM_LENGTH} characters; no name this API takes is that long`;
        break;
      default:
        this.logger.error({ err: error, reqId: requestId }, 'request failed before routing');
        message = `internal error; report request id ${requestId} to the operator`;
    }
    this.answer(req, res, status < 400 ? 500 : status, message, { ...askerOf(req, UNMATCHED_ROUTE), requestId });
  }

  private answerExpectation(req: RawRequest, res: ServerResponse): void {
    const expectation = String(req.headers.expect).slice(0, 100);
    const message = `'Expect: ${expectation}' is not supported; send the request without it, or with 'Expect: 100-continue'`;
    this.answer(req, res, 417, message, askerOf(req, UNMATCHED_ROUTE));
  }

  /** Writes an error answer on a response Fastify never saw, and counts and logs it. */
  private answer(req: RawRequest, res: ServerResponse, status: number, message: string, asker: Asker): void {
    const socket = req.socket as TrackedSocket;
    const elapsedMs = this.elapsedOn(socket);
    const body = JSON.stringify(errorBodyFor(asker.url, status, message, asker.requestId));
    res.writeHead(status, {
      'content-type': JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      'x-request-id': asker.requestId,
      'x-response-time': formatResponseTime(elapsedMs),
      'cache-control': 'no-store',
    });
    res.end(body);
    socket[READY_SINCE] = performance.now();
    if (claimDurationSample(res)) {
      this.record(asker.method, asker.route, status, elapsedMs, asker.requestId);
    }
  }

  private elapsedOn(socket: TrackedSocket): number {
    const now = performance.now();
    return now - (socket[READY_SINCE] ?? now);
  }

  /** One sample, and for answers no access log sees (`requestId` given), one log line. */
  private record(method: string, route: string, status: number, elapsedMs: number, requestId?: string): void {
    this.metrics?.httpRequestDuration.labels(method, route, String(status)).observe(elapsedMs / 1000);
    if (requestId !== undefined) {
      this.logger.warn(
        // Flat fields: pino-http's serializers read `req` and `res` as Node's objects.
        { reqId: requestId, method, route, statusCode: status, durationMs: Math.round(elapsedMs) },
        `${method} ${route} ${status}`,
      );
    }
  }
}

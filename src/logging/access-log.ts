import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { storage } from 'nestjs-pino/storage';
import type { Level, Logger } from 'pino';
import { ROUTE_TEMPLATE } from './logger.options';

type RawRequest = IncomingMessage & { id?: string; [ROUTE_TEMPLATE]?: string };

/** Probe and scrape traffic: its access lines are debug. */
const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/health', '/metrics']);

function routeOf(req: RawRequest): string {
  return req[ROUTE_TEMPLATE] ?? 'unmatched';
}

/** The level of a request's access line. */
export function accessLineLevel(req: RawRequest, res: ServerResponse): Level {
  // Probes answer 503 whenever the model is not ready yet: that is information, not an error.
  if (QUIET_ROUTES.has(routeOf(req))) {
    return 'debug';
  }
  // 503 is deliberate load shedding or a not-ready model, with Retry-After.
  if (res.statusCode === 503 || (res.statusCode >= 400 && res.statusCode < 500)) {
    return 'warn';
  }
  return res.statusCode >= 500 ? 'error' : 'info';
}

/**
 * The request's logger for whatever is logged while it is served (nestjs-pino's `PinoLogger` reads it
 * from its async-local store): the root logger with the request id, made on first use only, since most
 * requests log nothing.
 */
class RequestLogContext {
  private withId?: Logger;
  private assigned?: Logger;

  constructor(
    private readonly root: Logger,
    private readonly requestId: string,
  ) {}

  /** The root logger with the request id: what the access line builds on. */
  get requestLogger(): Logger {
    this.withId ??= this.root.child({ reqId: this.requestId });
    return this.withId;
  }

  get logger(): Logger {
    return this.assigned ?? this.requestLogger;
  }

  /** `PinoLogger.assign` replaces it with a child that has more fields; the access line keeps its own. */
  set logger(logger: Logger) {
    this.assigned = logger;
  }
}

/**
 * One access line per request, when the response closes, with the method, route template, status,
 * duration (`durationMs`) and request id; probe and scrape traffic at debug, refusals at warn, failures
 * (5xx) at error. Bodies and headers are never written, so prompts, replies and keys cannot reach the
 * log. It writes the lines pino-http wrote, through the same root logger and serializers, but makes the
 * child loggers of a line only when its level is enabled: pino-http made four per request, which cost
 * more than the rest of the request's own code.
 */
export class AccessLog {
  /**
   * Adds the `onRequest` hook. Add it after the hook that sets the request's id and route template:
   * requests refused by an earlier hook never reach this one and are logged by whoever refused them.
   */
  attach(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) => {
      const root = PinoLogger.root;
      const req = request.raw as RawRequest;
      const res = reply.raw;
      const context = new RequestLogContext(root, request.id);
      const startedAt = Date.now();
      res.once('close', () => this.write(root, context, req, res, startedAt));
      storage.run(context, done);
    });
  }

  private write(root: Logger, context: RequestLogContext, req: RawRequest, res: ServerResponse, startedAt: number) {
    const level = accessLineLevel(req, res);
    if (!root.isLevelEnabled(level)) {
      return;
    }
    const durationMs = Date.now() - startedAt;
    const route = req[ROUTE_TEMPLATE];
    const withRequest = context.requestLogger.child({ req });
    const line = route === undefined ? withRequest : withRequest.child({ route });
    const message = `${req.method} ${routeOf(req)} ${res.statusCode}`;
    if (res.statusCode >= 500) {
      line[level]({ res, err: new Error(`failed with status code ${res.statusCode}`), durationMs }, message);
    } else {
      line[level]({ res, durationMs }, message);
    }
  }
}

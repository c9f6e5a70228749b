import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
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
 * One access line per request, when the response closes, with the method, route template, status,
 * duration (`durationMs`) and request id; probe and scrape traffic at debug, refusals at warn, failures
 * (5xx) at error. Bodies and headers are never written, so prompts, replies and keys cannot reach the
 * log. It writes the lines pino-http wrote, through the same root logger and serializers, but makes the
 * child loggers of a line only when its level is enabled: pino-http made four per request, which cost
 * more than the rest of the request's own code.
 *
 * Nothing is kept in an async-local store for the request: on Node 20, a store in use runs a hook on
 * every promise of every request (10 to 13 % of the CPU time of a request here). What is logged about a
 * request's work carries its id because the work is given it (`RequestContext`, `LlmCallOptions`).
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
      const startedAt = Date.now();
      res.once('close', () => this.write(root, request.id, req, res, startedAt));
      done();
    });
  }

  private write(root: Logger, requestId: string, req: RawRequest, res: ServerResponse, startedAt: number) {
    const level = accessLineLevel(req, res);
    if (!root.isLevelEnabled(level)) {
      return;
    }
    const durationMs = Date.now() - startedAt;
    const route = req[ROUTE_TEMPLATE];
    // One child with every binding (pino serializes `req` in bindings too), not one per field.
    const line = root.child(route === undefined ? { reqId: requestId, req } : { reqId: requestId, req, route });
    const message = `${req.method} ${routeOf(req)} ${res.statusCode}`;
    if (res.statusCode >= 500) {
      line[level]({ res, err: new Error(`failed with status code ${res.statusCode}`), durationMs }, message);
    } else {
      line[level]({ res, durationMs }, message);
    }
  }
}

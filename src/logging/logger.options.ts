import type { ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { stdTimeFunctions } from 'pino';
import type { AppConfig } from '../config/configuration';

/** Set on the raw request by the Fastify `onRequest` hook, so the access log can name the route template. */
export const ROUTE_TEMPLATE = Symbol('routeTemplate');

type RawRequest = { id?: string; method?: string };

/**
 * pino through nestjs-pino: JSON lines by default. Bodies and headers are never serialised, so prompts,
 * replies and keys cannot reach the log. The access lines are written by `AccessLog` (a Fastify hook),
 * not by nestjs-pino's middleware: `forRoutes: []` keeps the module's loggers (and pino-http's root
 * logger, with these serializers, that `AccessLog` writes through) without its per-request middleware.
 */
export function loggerOptions(app: AppConfig): Params {
  return {
    forRoutes: [],
    pinoHttp: {
      level: app.logLevel,
      timestamp: stdTimeFunctions.isoTime,
      transport:
        app.logFormat === 'pretty'
          ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } }
          : undefined,
      serializers: {
        req: (req: RawRequest) => ({ id: req.id, method: req.method }),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        // The access line of a 5xx carries an error that only names the status; real failures are logged
        // with their stack by the exception filter.
        err: (error: Error) => ({ type: error.name, message: error.message }),
      },
    },
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { stdTimeFunctions } from 'pino';
import type { AppConfig } from '../config/configuration';

/** Set on the raw request by the Fastify `onRequest` hook, so the access log can name the route template. */
export const ROUTE_TEMPLATE = Symbol('routeTemplate');

type RawRequest = IncomingMessage & { id?: string; [ROUTE_TEMPLATE]?: string };

const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/health', '/metrics']);

function routeOf(req: RawRequest): string {
  return req[ROUTE_TEMPLATE] ?? 'unmatched';
}

/**
 * pino through nestjs-pino: JSON lines by default, one access line per request with method, route
 * template, status, duration and request id. Bodies and headers are never serialised, so prompts,
 * replies and keys cannot reach the log. Probe and scrape traffic logs at debug level.
 */
export function loggerOptions(app: AppConfig): Params {
  return {
    pinoHttp: {
      level: app.logLevel,
      timestamp: stdTimeFunctions.isoTime,
      transport:
        app.logFormat === 'pretty'
          ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } }
          : undefined,
      quietReqLogger: true,
      customAttributeKeys: { responseTime: 'durationMs' },
      // The request is serialised when it arrives, before routing; the route template is known when it
      // ends, which is when pino-http asks for these again.
      customProps: (req) => {
        const route = (req as RawRequest)[ROUTE_TEMPLATE];
        return route === undefined ? {} : { route };
      },
      serializers: {
        req: (req: RawRequest) => ({ id: req.id, method: req.method }),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        // pino-http invents an error for every 5xx; its stack says nothing. Real failures are logged with
        // their stack by the exception filter.
        err: (error: Error) => ({ type: error.name, message: error.message }),
      },
      customLogLevel: (req, res, error) => {
        // Probes answer 503 whenever the model is not ready yet: that is information, not an error.
        if (QUIET_ROUTES.has(routeOf(req as RawRequest))) {
          return 'debug';
        }
        // 503 is deliberate load shedding or a not-ready model, with Retry-After.
        if (res.statusCode === 503 || (res.statusCode >= 400 && res.statusCode < 500)) {
          return 'warn';
        }
        return error || res.statusCode >= 500 ? 'error' : 'info';
      },
      customSuccessMessage: (req, res) => `${req.method} ${routeOf(req as RawRequest)} ${res.statusCode}`,
      customErrorMessage: (req, res) => `${req.method} ${routeOf(req as RawRequest)} ${res.statusCode}`,
    },
  };
}

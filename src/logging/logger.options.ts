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
      serializers: {
        req: (req: RawRequest) => ({ id: req.id, method: req.method, route: routeOf(req) }),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (req, res, error) => {
        if (error || res.statusCode >= 500) {
          return 'error';
        }
        if (res.statusCode >= 400) {
          return 'warn';
        }
        return QUIET_ROUTES.has(routeOf(req as RawRequest)) ? 'debug' : 'info';
      },
      customSuccessMessage: (req, res) => `${req.method} ${routeOf(req as RawRequest)} ${res.statusCode}`,
      customErrorMessage: (req, res) => `${req.method} ${routeOf(req as RawRequest)} ${res.statusCode}`,
    },
  };
}

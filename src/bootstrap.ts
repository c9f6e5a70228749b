import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { setupOpenApi } from './common/openapi/setup-openapi';
import { formatResponseTime } from './common/interceptors/latency.interceptor';
import type { Configuration } from './config/environment';
import { ROUTE_TEMPLATE } from './logging/logger.options';
import { registerSecurityHeaders } from './security/security-headers';
import { serverLimits } from './security/server-limits';

/** A caller's request id is echoed only when it is short and plain, so it cannot forge log lines. */
const SAFE_REQUEST_ID = /^[\w.:@/-]{1,128}$/;

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Builds the application with all of its HTTP plumbing, without listening, from the configuration
 * parsed once at start-up. `main.ts` and the e2e tests both start from here, so the tests exercise what
 * production runs.
 */
export async function createApp(config: Configuration): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    ...serverLimits(config),
    bodyLimit: config.app.bodyLimitBytes,
    genReqId: requestIdOf,
    requestIdHeader: false,
    logger: false,
    // Requests are drained before the server closes (GracefulShutdown, LlmService.drain); what is still
    // connected then is idle or stuck, and must not hold the process for a keep-alive timeout.
    forceCloseConnections: true,
    return503OnClosing: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));

  const fastify = app.getHttpAdapter().getInstance();
  registerSecurityHeaders(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw as IncomingMessage & { id?: string; [ROUTE_TEMPLATE]?: string };
    raw.id = request.id;
    raw[ROUTE_TEMPLATE] = request.routeOptions.url;
    reply.header('x-request-id', request.id);
    // Streams write their headers straight to the socket; these reach them too.
    reply.raw.setHeader('x-request-id', request.id);
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    void reply.header('x-response-time', formatResponseTime(reply.elapsedTime));
    done(null, payload);
  });
  setupOpenApi(app);
  return app;
}

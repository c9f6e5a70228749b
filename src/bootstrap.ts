import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { IncomingMessage } from 'node:http';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { PreRoutingAnswers } from './common/filters/pre-routing-answers';
import { registerBodyParsers } from './common/http/body-parsers';
import { installLeanAsyncResourceBind } from './common/lean-async-bind';
import { formatResponseTime } from './common/interceptors/latency.interceptor';
import { setupOpenApi } from './common/openapi/setup-openapi';
import type { Configuration } from './config/environment';
import { AccessLog } from './logging/access-log';
import { ROUTE_TEMPLATE } from './logging/logger.options';
import { requestIdOf } from './logging/request-id';
import { MetricsService } from './metrics/metrics.service';
import { registerSecurityHeaders } from './security/security-headers';
import { closeAfterLastAllowedAnswer, serverLimits } from './security/server-limits';

/**
 * Builds the application with all of its HTTP plumbing, without listening, from the configuration
 * parsed once at start-up. `main.ts` and the e2e tests both start from here, so the tests exercise what
 * production runs.
 */
export async function createApp(config: Configuration): Promise<NestFastifyApplication> {
  // Fastify and Nest bind per request with AsyncResource; Node 20 makes every bind dear.
  installLeanAsyncResourceBind();
  const preRouting = new PreRoutingAnswers();
  const adapter = new FastifyAdapter({
    ...serverLimits(config),
    ...preRouting.serverOptions(),
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
    // Bodies are read by `registerBodyParsers`: Nest's would read forms, which no route takes.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));

  const fastify = app.getHttpAdapter().getInstance();
  registerSecurityHeaders(fastify);
  registerBodyParsers(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw as IncomingMessage & { id?: string; [ROUTE_TEMPLATE]?: string };
    raw.id = request.id;
    raw[ROUTE_TEMPLATE] = request.routeOptions.url;
    reply.header('x-request-id', request.id);
    // Streams write their headers straight to the socket; these reach them too.
    reply.raw.setHeader('x-request-id', request.id);
    closeAfterLastAllowedAnswer(reply.raw);
    done(preRouting.refusalOf(request.raw, reply.raw));
  });
  new AccessLog().attach(fastify);
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    void reply.header('x-response-time', formatResponseTime(reply.elapsedTime));
    done(null, payload);
  });
  preRouting.attach(fastify, app.get(MetricsService));
  setupOpenApi(app);
  return app;
}

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const DOCS_PATH = '/docs';
export const DOCS_JSON_PATH = '/docs-json';

/** Security scheme names that controllers refer to with `@ApiBearerAuth` / `@ApiSecurity`. */
export const BEARER_AUTH = 'bearer';
export const API_KEY_AUTH = 'api-key';

const DESCRIPTION = [
  'Chat and financial risk assessment served by a local Ollama model, an OpenAI-compatible API under `/v1`,',
  "and Ollama's own API under `/api` for Ollama's clients.",
  '',
  'Every response carries `X-Request-Id` and `X-Response-Time`. Errors are JSON',
  '`{statusCode, error, message, requestId}`, on `/v1` OpenAI\'s `{"error": {message, type, param, code}}`,',
  'and on `/api` and `/` Ollama\'s `{"error": "<message>"}`;',
  '503 answers carry `Retry-After`. Refusals decided before a route runs have the same bodies: unreadable JSON',
  '(400), unknown route (404), wrong method (405, with `Allow`), slow client (408), body over `BODY_LIMIT_BYTES`',
  '(413), body not JSON or compressed (415), headers too large (431).',
  '',
  'When `API_KEYS` is set, `/chat`, `/risk/assess` and every `/v1` route need `Authorization: Bearer <key>`',
  "or `X-API-Key: <key>`, and so does every route of Ollama's API under `/api` (`GET /` needs none).",
].join('\n');

/** swagger-ui's static files (a dependency of ours, at the version `@nestjs/swagger` uses). */
function swaggerUiDistDir(): string {
  return dirname(require.resolve('swagger-ui-dist/package.json'));
}

const UI_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const UI_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>local-llm-gateway API</title>
    <link rel="stylesheet" type="text/css" href="${DOCS_PATH}/swagger-ui.css" />
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="${DOCS_PATH}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="${DOCS_PATH}/swagger-ui-init.js" charset="UTF-8"></script>
  </body>
</html>
`;

const UI_INIT_JS = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '${DOCS_JSON_PATH}',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * Serves the UI page and its few static files as plain routes. `SwaggerModule`'s own UI needs
 * `@fastify/static`, which this service does not otherwise use; the document itself is still served
 * by `SwaggerModule`. Files are read on first use and kept for the application's lifetime.
 */
function serveSwaggerUi(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const distDir = swaggerUiDistDir();
  const cache = new Map<string, Buffer>();

  const sendHtml = (_request: unknown, reply: FastifyReply): FastifyReply =>
    reply.type('text/html; charset=utf-8').send(UI_HTML);
  fastify.get(DOCS_PATH, sendHtml);
  fastify.get(`${DOCS_PATH}/`, sendHtml);
  fastify.get(`${DOCS_PATH}/swagger-ui-init.js`, (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').send(UI_INIT_JS),
  );
  for (const [file, contentType] of Object.entries(UI_ASSETS)) {
    fastify.get(`${DOCS_PATH}/${file}`, async (_request, reply) => {
      let content = cache.get(file);
      if (content === undefined) {
        content = await readFile(join(distDir, file));
        cache.set(file, content);
      }
      return reply.type(contentType).header('cache-control', 'public, max-age=3600').send(content);
    });
  }
}

/**
 * Publishes the OpenAPI document of every controller at `/docs-json` and the Swagger UI at `/docs`.
 * Call once, after `createApp()` and before `listen()`. Both routes need no API key.
 */
export function setupOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('local-llm-gateway')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'One of the keys in API_KEYS.' }, BEARER_AUTH)
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'One of the keys in API_KEYS.' },
      API_KEY_AUTH,
    )
    .build();
  // Built on the first request for it, not at start-up: most processes are never asked, and the
  // document holds 0.2 MiB of heap for the rest of the process once built.
  const buildDocument = (): OpenAPIObject => SwaggerModule.createDocument(app, config);
  SwaggerModule.setup(DOCS_PATH, app, buildDocument, { ui: false, raw: ['json'], jsonDocumentUrl: DOCS_JSON_PATH });
  serveSwaggerUi(app);
}

import type { FastifyInstance } from 'fastify';

/** The Swagger UI page and its assets (a browser page that needs its scripts and styles), by URL with its query. */
const DOCS_UI_URL = /^\/docs(?:[/?]|$)/;

/** Headers for every answer: a JSON API is never sniffed, framed, cached by origin-less readers or referred from. */
const ALWAYS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** Headers for everything but the Swagger UI: nothing in a JSON answer may load or run, and nothing is cached. */
const API_ONLY: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

/**
 * Adds the security headers to every response. They are set on the raw response at `onRequest`, so they
 * also reach streamed answers (which write their head straight to the socket) and errors raised before
 * routing; a handler that sets one of them itself (the Swagger assets' `Cache-Control`, the event
 * stream's) still wins. CORS is deliberately not enabled.
 */
export function registerSecurityHeaders(fastify: FastifyInstance): void {
  // Every request pays for this hook: the lists are made once.
  const docsHeaders = Object.entries(ALWAYS);
  const apiHeaders = Object.entries({ ...ALWAYS, ...API_ONLY });
  fastify.addHook('onRequest', (request, reply, done) => {
    const raw = reply.raw;
    for (const [name, value] of DOCS_UI_URL.test(request.url) ? docsHeaders : apiHeaders) {
      raw.setHeader(name, value);
    }
    done();
  });
}

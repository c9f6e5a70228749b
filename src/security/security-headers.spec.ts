import Fastify, { FastifyInstance } from 'fastify';
import { registerSecurityHeaders } from './security-headers';

const API_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

describe(registerSecurityHeaders.name, () => {
  let fastify: FastifyInstance;

  beforeEach(async () => {
    fastify = Fastify();
    registerSecurityHeaders(fastify);
    fastify.post('/chat', () => ({ reply: 'hi' }));
    fastify.get('/docs', (_request, reply) => reply.type('text/html').send('<html></html>'));
    fastify.get('/docs/swagger-ui.css', (_request, reply) =>
      reply.type('text/css').header('cache-control', 'public, max-age=3600').send('body {}'),
    );
    fastify.get('/stream', (_request, reply) => {
      // What an event stream does: its head goes straight to the socket.
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-store' });
      reply.raw.end('data: {}\n\n');
    });
    await fastify.ready();
  });

  afterEach(async () => {
    await fastify.close();
  });

  it('sets every API header on a JSON answer, without X-Powered-By', async () => {
    const response = await fastify.inject({ method: 'POST', url: '/chat', payload: {} });
    expect(response.headers).toMatchObject(API_HEADERS);
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('sets them on errors raised before routing too', async () => {
    const notFound = await fastify.inject({ method: 'GET', url: '/nowhere?x=1' });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.headers).toMatchObject(API_HEADERS);
    const badJson = await fastify.inject({
      method: 'POST',
      url: '/chat',
      headers: { 'content-type': 'application/json' },
      payload: '{',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.headers).toMatchObject(API_HEADERS);
  });

  it('reaches answers that write their head to the socket themselves', async () => {
    const response = await fastify.inject({ method: 'GET', url: '/stream' });
    expect(response.headers).toMatchObject({ ...API_HEADERS, 'cache-control': 'no-cache, no-store' });
  });

  it('leaves the content security policy and caching of the Swagger UI alone', async () => {
    const page = await fastify.inject({ method: 'GET', url: '/docs' });
    expect(page.headers['content-security-policy']).toBeUndefined();
    expect(page.headers['cache-control']).toBeUndefined();
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const asset = await fastify.inject({ method: 'GET', url: '/docs/swagger-ui.css' });
    expect(asset.headers['content-security-policy']).toBeUndefined();
    expect(asset.headers['cache-control']).toBe('public, max-age=3600');
    const withQuery = await fastify.inject({ method: 'GET', url: '/docs?tab=chat' });
    expect(withQuery.headers['content-security-policy']).toBeUndefined();
    expect(withQuery.headers['x-frame-options']).toBe('DENY');
  });

  it('keeps the API policy on paths that only start like the docs', async () => {
    const response = await fastify.inject({ method: 'GET', url: '/docs-json' });
    expect(response.headers['content-security-policy']).toBe(API_HEADERS['content-security-policy']);
    const withQuery = await fastify.inject({ method: 'GET', url: '/docs-json?x=/docs/' });
    expect(withQuery.headers['content-security-policy']).toBe(API_HEADERS['content-security-policy']);
  });
});

import { setupOpenApi } from '../../src/common/openapi/setup-openapi';
import { RunningApp, startApp } from '../support/app';

interface Operation {
  tags?: string[];
  responses: Record<string, { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }>;
  security?: unknown[];
}

describe(`${setupOpenApi.name}: Ollama's API`, () => {
  let running: RunningApp;
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    // No Ollama is needed to describe the API; nothing answers at this address.
    running = await startApp({ OLLAMA_URL: 'http://127.0.0.1:9', OLLAMA_AUTO_START: 'false' });
    const response = await fetch(`${running.url}/docs-json`);
    expect(response.status).toBe(200);
    paths = ((await response.json()) as { paths: typeof paths }).paths;
  });

  afterAll(async () => {
    await running?.close();
  });

  it('lists every route of Ollama’s API under the ollama tag', () => {
    const routes = Object.entries(paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.tags?.includes('ollama'))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /',
        'POST /api/chat',
        'POST /api/generate',
        'POST /api/embed',
        'POST /api/embeddings',
        'GET /api/tags',
        'GET /api/ps',
        'POST /api/show',
        'GET /api/version',
        'POST /api/pull',
        'POST /api/push',
        'POST /api/create',
        'POST /api/copy',
        'DELETE /api/delete',
        'HEAD /api/blobs/{digest}',
        'POST /api/blobs/{digest}',
      ].sort(),
    );
  });

  it('documents the errors in Ollama’s shape, and the keys on everything but GET /', () => {
    const chat = paths['/api/chat'].post;
    expect(Object.keys(chat.responses).sort()).toEqual(
      ['200', '400', '401', '404', '413', '415', '429', '502', '503', '504'].sort(),
    );
    expect(chat.responses['404'].content?.['application/json'].schema?.properties).toEqual({
      error: expect.objectContaining({ type: 'string' }),
    });
    expect(chat.security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'api-key': [] }]));
    expect(paths['/'].get.security).toBeUndefined();
    expect(Object.keys(paths['/api/pull'].post.responses).sort()).toEqual(['401', '403', '429']);
  });

  it('still serves the UI', async () => {
    const page = await fetch(`${running.url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui-bundle.js');
  });
});

import { setupOpenApi } from '../../src/common/openapi/setup-openapi';
import { RunningApp, startApp } from '../support/app';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
}

describe(setupOpenApi.name, () => {
  let running: RunningApp;
  let document: OpenApiDocument;

  beforeAll(async () => {
    // No Ollama is needed to describe the API; nothing answers at this address.
    running = await startApp({ OLLAMA_URL: 'http://127.0.0.1:9', OLLAMA_AUTO_START: 'false' });
    const response = await fetch(`${running.url}/docs-json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as OpenApiDocument;
  });

  afterAll(async () => {
    await running?.close();
  });

  it('lists POST /chat and POST /risk/assess with their success and error answers', () => {
    expect(document.openapi).toMatch(/^3\./);
    for (const path of ['/chat', '/risk/assess']) {
      const responses = document.paths[path]?.post?.responses ?? {};
      expect(Object.keys(responses).sort()).toEqual(['200', '400', '401', '413', '429', '502', '503', '504']);
    }
  });

  it('documents both forms of the chat answer and the API key schemes', () => {
    const chat = document.paths['/chat'].post as unknown as {
      responses: { '200': { content: Record<string, unknown> } };
      security: unknown[];
    };
    expect(Object.keys(chat.responses['200'].content)).toEqual(['application/json', 'text/event-stream']);
    expect(chat.security).toHaveLength(2);
    expect(chat.security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'api-key': [] }]));
  });

  it('describes the request bodies with their limits', () => {
    const { ChatRequestDto, RiskAssessRequestDto } = document.components.schemas;
    expect(ChatRequestDto.required).toEqual(['message']);
    expect(ChatRequestDto.properties?.message).toMatchObject({ minLength: 1, maxLength: 32000 });
    expect(RiskAssessRequestDto.properties?.prices).toMatchObject({ minItems: 3, maxItems: 10000 });
  });

  it('serves the UI and its assets at /docs', async () => {
    const page = await fetch(`${running.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    for (const asset of [
      'swagger-ui-bundle.js',
      'swagger-ui-standalone-preset.js',
      'swagger-ui.css',
      'swagger-ui-init.js',
    ]) {
      const response = await fetch(`${running.url}/docs/${asset}`);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
  });
});

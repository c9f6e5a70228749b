import { Gateway, startGateway } from './gateway';

const API_KEY = 'openai-key-0123456789abcdef';

interface OpenApiDocument {
  info: { description: string };
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: { example?: unknown } }> } }>
  >;
}

describe('the OpenAPI document of the OpenAI-compatible routes', () => {
  let gateway: Gateway;
  let document: OpenApiDocument;

  beforeAll(async () => {
    gateway = await startGateway({ API_KEYS: API_KEY });
    document = (await (await fetch(`${gateway.url}/docs-json`)).json()) as OpenApiDocument;
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('offers a chat completion example that the gateway answers as is', async () => {
    const example = document.paths['/v1/chat/completions'].post.requestBody?.content['application/json'].schema.example;
    expect(example).toEqual({
      model: expect.stringMatching(/^llama/),
      messages: [
        { role: 'system', content: expect.any(String) },
        { role: 'user', content: expect.any(String) },
      ],
      temperature: expect.any(Number),
    });

    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(example),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: 'chat.completion', choices: [{ finish_reason: 'stop' }] });
  });

  it('says that /v1 needs a key too when API_KEYS is set', () => {
    expect(document.info.description).toContain('`/chat`, `/risk/assess` and every `/v1` route need');
  });
});

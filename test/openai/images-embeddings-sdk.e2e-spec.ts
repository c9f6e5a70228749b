import OpenAI from 'openai';
import { EmbeddingsController } from '../../src/openai/embeddings.controller';
import { Gateway } from './gateway';
import { dataUrl, imagePart, PNG_BASE64 } from './images';
import {
  API_KEY,
  EMBEDDING_DIMENSIONS,
  EMBEDDING_MODEL,
  lastChatBody,
  MODEL,
  openAiClient,
  rejectionOf,
  startModelsGateway,
  VISION_MODEL,
} from './models-gateway';

const TEXTS = ['duration risk of long bonds', 'convexity of a callable bond', 'liquidity of small caps'];

function float32sOf(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes).buffer;
  return [...new Float32Array(copy)];
}

function norm(vector: readonly number[]): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
}

/** What Ollama itself answers for `input`, asked directly. */
async function ollamaEmbeddings(gateway: Gateway, input: string[]): Promise<number[][]> {
  const response = await fetch(`${gateway.emulator.url}/api/embed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: EMBEDDING_MODEL, input }),
  });
  return ((await response.json()) as { embeddings: number[][] }).embeddings;
}

describe('images on /v1/chat/completions, with the official openai client', () => {
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await startModelsGateway({ BODY_LIMIT_BYTES: String(256 * 1024) });
    client = openAiClient(gateway);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('hands a data-URL image to a vision model as Ollama’s base64 image of that message', async () => {
    const completion = await client.chat.completions.create({
      model: VISION_MODEL,
      messages: [
        { role: 'system', content: 'Describe images briefly.' },
        { role: 'user', content: [{ type: 'text', text: 'What is on this chart?' }, imagePart(dataUrl(PNG_BASE64))] },
      ],
    });
    expect(completion.choices[0].message.content).toMatch(/I can see 1 image\./);
    expect(gateway.emulator.lastRequest({ endpoint: 'chat', model: VISION_MODEL })?.images).toBe(1);
    expect(lastChatBody(gateway, VISION_MODEL).messages).toEqual([
      { role: 'system', content: 'Describe images briefly.' },
      { role: 'user', content: 'What is on this chart?', images: [PNG_BASE64] },
    ]);
  });

  it('streams the answer about several images, the model named by its alias', async () => {
    const stream = await client.chat.completions.create({
      model: 'llava',
      stream: true,
      messages: [
        {
          role: 'user',
          content: [imagePart(dataUrl(PNG_BASE64)), { type: 'text', text: 'Compare.' }, imagePart(dataUrl(PNG_BASE64))],
        },
      ],
    });
    let content = '';
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
    }
    expect(content).toMatch(/I can see 2 images\./);
    expect(lastChatBody(gateway, VISION_MODEL).messages).toEqual([
      { role: 'user', content: 'Compare.', images: [PNG_BASE64, PNG_BASE64] },
    ]);
  });

  it('refuses an image for a model without vision, naming the capability, without calling Ollama', async () => {
    gateway.emulator.resetStats();
    const error = await rejectionOf(
      client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is it?' }, imagePart(dataUrl(PNG_BASE64))] }],
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: 'model', code: 'model_capability_missing' });
    expect((error as Error).message).toMatch(/model 'llama3\.1:latest' does not support images/);
    expect(gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(0);
  });

  it.each([
    ['a remote URL', 'https://example.com/chart.png', 'image_url_not_supported'],
    ['data that is not base64', 'data:image/png;base64,iVBOR w0KGgo=', 'invalid_base64'],
    ['a media type that is not an image', `data:application/pdf;base64,${PNG_BASE64}`, 'invalid_image_format'],
    ['bytes that are not the image they claim', dataUrl(Buffer.from('plain text').toString('base64')), 'invalid_image'],
  ])('refuses %s with BadRequestError naming the part', async (_case, url, code) => {
    gateway.emulator.resetStats();
    const error = await rejectionOf(
      client.chat.completions.create({
        model: VISION_MODEL,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is it?' }, imagePart(url)] }],
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: 'messages[0].content[1].image_url.url', code });
    expect(gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(0);
  });

  it('refuses an image larger than BODY_LIMIT_BYTES allows with 413', async () => {
    const big = Buffer.alloc(300 * 1024);
    Buffer.from(PNG_BASE64, 'base64').copy(big);
    const error = await rejectionOf(
      client.chat.completions.create({
        model: VISION_MODEL,
        messages: [{ role: 'user', content: [imagePart(dataUrl(big.toString('base64')))] }],
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ status: 413, code: 'request_too_large' });
  });
});

describe(`${EmbeddingsController.name} with the official openai client`, () => {
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await startModelsGateway();
    client = openAiClient(gateway);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('answers one float embedding per input, in order, as Ollama computed them', async () => {
    const response = await client.embeddings.create({ model: EMBEDDING_MODEL, input: TEXTS, encoding_format: 'float' });
    expect(response.object).toBe('list');
    expect(response.model).toBe(EMBEDDING_MODEL);
    expect(response.data.map(({ object, index }) => ({ object, index }))).toEqual([
      { object: 'embedding', index: 0 },
      { object: 'embedding', index: 1 },
      { object: 'embedding', index: 2 },
    ]);
    for (const { embedding } of response.data) {
      expect(embedding).toHaveLength(EMBEDDING_DIMENSIONS);
      expect(norm(embedding)).toBeCloseTo(1, 5);
    }
    expect(response.data.map(({ embedding }) => embedding)).toEqual(await ollamaEmbeddings(gateway, TEXTS));
    expect(response.usage.prompt_tokens).toBeGreaterThan(0);
    expect(response.usage.total_tokens).toBe(response.usage.prompt_tokens);
    expect(gateway.emulator.lastRequest({ endpoint: 'embed', model: EMBEDDING_MODEL })?.body).toMatchObject({
      model: EMBEDDING_MODEL,
      input: TEXTS,
    });
  });

  it('answers base64 of float32 little-endian that decodes to the float answer', async () => {
    const floats = await client.embeddings.create({ model: EMBEDDING_MODEL, input: TEXTS, encoding_format: 'float' });
    const encoded = await client.embeddings.create({
      model: EMBEDDING_MODEL,
      input: TEXTS,
      encoding_format: 'base64',
    });
    const strings = encoded.data.map(({ embedding }) => embedding as unknown);
    for (const [index, value] of strings.entries()) {
      expect(typeof value).toBe('string');
      expect(float32sOf(value as string)).toEqual(floats.data[index].embedding.map((x) => Math.fround(x)));
    }
  });

  it('serves the SDK’s default request (base64, decoded by the SDK) with the same vectors', async () => {
    const floats = await client.embeddings.create({
      model: EMBEDDING_MODEL,
      input: 'duration risk',
      encoding_format: 'float',
    });
    const decoded = await client.embeddings.create({ model: 'nomic-embed-text', input: 'duration risk' });
    expect(decoded.model).toBe('nomic-embed-text');
    expect(decoded.data).toHaveLength(1);
    expect(decoded.data[0].embedding).toEqual(floats.data[0].embedding.map((x) => Math.fround(x)));
  });

  it('passes dimensions to Ollama, which shortens the vectors', async () => {
    const response = await client.embeddings.create({
      model: EMBEDDING_MODEL,
      input: ['short vectors'],
      dimensions: 256,
      encoding_format: 'float',
    });
    expect(response.data[0].embedding).toHaveLength(256);
    expect(gateway.emulator.lastRequest({ endpoint: 'embed' })?.body).toMatchObject({ dimensions: 256 });
  });

  it('refuses a chat model with BadRequestError naming the capability, without calling Ollama', async () => {
    gateway.emulator.resetStats();
    const error = await rejectionOf(client.embeddings.create({ model: MODEL, input: 'x' }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: 'model', code: 'model_capability_missing' });
    expect((error as Error).message).toMatch(/model 'llama3\.1:latest' does not support embeddings/);
    expect(gateway.emulator.requestCount({ endpoint: 'embed' })).toBe(0);
  });

  it('refuses a model that is not served with NotFoundError', async () => {
    const error = await rejectionOf(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }));
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an empty string', { input: '' }, 'input'],
    ['an empty array', { input: [] }, 'input'],
    ['more than 2048 inputs', { input: Array.from({ length: 2049 }, () => 'x') }, 'input'],
    ['token arrays', { input: [[1, 2, 3]] }, 'input'],
    ['dimensions below 1', { input: 'x', dimensions: 0 }, 'dimensions'],
    ['fractional dimensions', { input: 'x', dimensions: 2.5 }, 'dimensions'],
    ['an unknown encoding_format', { input: 'x', encoding_format: 'int8' }, 'encoding_format'],
  ])('refuses %s with BadRequestError naming the field', async (_case, fields, param) => {
    const error = await rejectionOf(
      client.embeddings.create({ model: EMBEDDING_MODEL, ...fields } as unknown as OpenAI.EmbeddingCreateParams),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', param });
  });

  it('needs a key like every other /v1 route', async () => {
    const error = await rejectionOf(
      openAiClient(gateway, 'wrong-key-0123456789').embeddings.create({ model: EMBEDDING_MODEL, input: 'x' }),
    );
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('is documented in the OpenAPI document with an example that it answers as is', async () => {
    const document = (await (await fetch(`${gateway.url}/docs-json`)).json()) as {
      paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { example: unknown } }> } } }>;
    };
    const example = document.paths['/v1/embeddings'].post.requestBody.content['application/json'].schema.example;
    expect(example).toEqual({ model: EMBEDDING_MODEL, input: expect.any(Array) });
    const response = await fetch(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(example),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: 'list', model: EMBEDDING_MODEL });
  });

  it('records the model calls under the embeddings endpoint label', async () => {
    await client.embeddings.create({ model: EMBEDDING_MODEL, input: 'x' });
    const metrics = await (
      await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })
    ).text();
    expect(metrics).toMatch(
      /llm_request_duration_seconds_count\{[^}]*endpoint="embeddings"[^}]*outcome="success"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/v1\/embeddings",status_code="200"\} [1-9]/,
    );
  });
});

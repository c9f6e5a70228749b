import { postJson } from '../support/http';
import { OllamaEmulator } from './ollama-emulator';
import { schemaViolations, type Json } from './test-helpers';

jest.setTimeout(30_000);

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]).toString('base64');

describe('OllamaEmulator images and structured outputs', () => {
  let emulator: OllamaEmulator;

  async function post(path: string, body: unknown): Promise<{ status: number; body: Json }> {
    const res = await postJson(`${emulator.url}${path}`, body);
    return { status: res.status, body: (await res.json()) as Json };
  }

  function content(reply: Json): string {
    return String((reply['message'] as Json | undefined)?.['content'] ?? reply['response']);
  }

  beforeEach(async () => {
    emulator = new OllamaEmulator({ models: ['llama3.1:latest', 'llava:latest', 'llama3.2-vision:latest'] });
    await emulator.start(0);
  });

  afterEach(async () => {
    await emulator.stop();
  });

  describe('images', () => {
    it('accepts base64 images on a vision model, and the reply says how many it saw', async () => {
      const chat = await post('/api/chat', {
        model: 'llava',
        stream: false,
        messages: [
          { role: 'user', content: 'Compare these.', images: [PNG, PNG] },
          { role: 'assistant', content: 'Sure.' },
          { role: 'user', content: 'And this one?', images: [PNG] },
        ],
      });
      expect(chat.status).toBe(200);
      expect(content(chat.body)).toBe(
        'Echo: And this one? I can see 3 images. This is a deterministic reply from the Ollama emulator.',
      );
      const generate = await post('/api/generate', {
        model: 'llava',
        stream: false,
        prompt: 'Describe',
        images: [PNG],
      });
      expect(content(generate.body)).toContain('I can see 1 image.');
      expect(emulator.requests({ model: 'llava' }).map((r) => r.images)).toEqual([3, 1]);
    });

    it.each([
      ['not base64!', 3],
      ['abc', 0],
      ['aGVsbG8', 4],
      ['aG=j', 2],
      ['aGVsbG8=x', 8],
      ['=AAA', 0],
    ])('refuses the image %j with Go’s base64 error at byte %d', async (image, offset) => {
      const expected = { status: 400, body: { error: `illegal base64 data at input byte ${offset}` } };
      expect(
        await post('/api/chat', { model: 'llava', messages: [{ role: 'user', content: 'x', images: [image] }] }),
      ).toEqual(expected);
      expect(await post('/api/generate', { model: 'llava', prompt: 'x', images: [PNG, image] })).toEqual(expected);
    });

    it('accepts line breaks inside base64 as Go does, and refuses an image that is not a string', async () => {
      const wrapped = `${PNG.slice(0, 4)}\n${PNG.slice(4)}`;
      expect(
        (await post('/api/generate', { model: 'llava', stream: false, prompt: 'x', images: [wrapped] })).status,
      ).toBe(200);
      expect(await post('/api/generate', { model: 'llava', prompt: 'x', images: [5] })).toEqual({
        status: 400,
        body: {
          error: 'json: cannot unmarshal number into Go struct field GenerateRequest.images of type api.ImageData',
        },
      });
      expect(
        await post('/api/chat', { model: 'llava', messages: [{ role: 'user', content: 'x', images: [true] }] }),
      ).toEqual({
        status: 400,
        body: {
          error: 'json: cannot unmarshal bool into Go struct field ChatRequest.messages.images of type api.ImageData',
        },
      });
    });

    it('reports a bad message field against the outer field, as Message.UnmarshalJSON makes Go do', async () => {
      expect(
        await post('/api/chat', {
          model: 'llava',
          messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
        }),
      ).toEqual({
        status: 400,
        body: {
          error: 'json: cannot unmarshal array into Go struct field ChatRequest.messages.content of type string',
        },
      });
      expect(await post('/api/chat', { model: 'llava', messages: ['hello'] })).toEqual({
        status: 400,
        body: { error: 'json: cannot unmarshal string into Go struct field ChatRequest.messages of type api.Alias' },
      });
    });

    it('takes one image at a time on an mllama model: 400 on generate, 500 on chat', async () => {
      expect(await post('/api/generate', { model: 'llama3.2-vision', prompt: 'x', images: [PNG, PNG] })).toEqual({
        status: 400,
        body: { error: 'this model only supports one image while more than one image requested' },
      });
      const chat = await post('/api/chat', {
        model: 'llama3.2-vision',
        messages: [{ role: 'user', content: 'x', images: [PNG, PNG] }],
      });
      expect(chat).toEqual({
        status: 500,
        body: { error: 'this model only supports one image while more than one image requested' },
      });
      const one = await post('/api/chat', {
        model: 'llama3.2-vision',
        stream: false,
        messages: [{ role: 'user', content: 'x', images: [PNG] }],
      });
      expect(one.status).toBe(200);
    });
  });

  describe('format with a JSON schema', () => {
    const schemas: Array<[string, Json]> = [
      [
        'an object with required properties, enums and bounds',
        {
          type: 'object',
          required: ['score', 'level', 'summary'],
          additionalProperties: false,
          properties: {
            score: { type: 'integer', minimum: 0, maximum: 100 },
            level: { type: 'string', enum: ['low', 'medium', 'high'] },
            summary: { type: 'string', minLength: 20, maxLength: 200 },
            confidence: { type: 'number', minimum: 0.5, maximum: 1 },
          },
        },
      ],
      [
        'arrays of nested objects',
        {
          type: 'object',
          required: ['factors'],
          properties: {
            factors: {
              type: 'array',
              minItems: 2,
              maxItems: 4,
              items: {
                type: 'object',
                required: ['name', 'weight', 'tags'],
                properties: {
                  name: { type: 'string' },
                  weight: { type: 'number', minimum: 0, maximum: 1 },
                  tags: { type: 'array', items: { type: 'string', enum: ['credit', 'market'] } },
                  meta: { type: 'object', properties: { source: { type: 'string' }, verified: { type: 'boolean' } } },
                },
              },
            },
          },
        },
      ],
      [
        'anyOf between object shapes, and nullable fields',
        {
          type: 'object',
          required: ['call', 'note'],
          properties: {
            call: {
              anyOf: [
                {
                  type: 'object',
                  required: ['name', 'arguments'],
                  properties: {
                    name: { const: 'get_weather' },
                    arguments: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } },
                  },
                },
                { type: 'object', required: ['name'], properties: { name: { const: 'get_time' } } },
              ],
            },
            note: { type: ['string', 'null'] },
          },
        },
      ],
    ];

    it.each(schemas)('answers JSON that satisfies %s, on chat and generate', async (_name, schema) => {
      const chat = await post('/api/chat', {
        model: 'llama3.1',
        stream: false,
        format: schema,
        messages: [{ role: 'user', content: 'Assess.' }],
      });
      const fromChat: unknown = JSON.parse(content(chat.body));
      expect(schemaViolations(fromChat, schema)).toEqual([]);
      const generate = await post('/api/generate', {
        model: 'llama3.1',
        stream: false,
        format: schema,
        prompt: 'Assess.',
      });
      expect(JSON.parse(content(generate.body))).toEqual(fromChat);
    });

    it('fills every required property of the first anyOf branch and picks the enum’s first value', async () => {
      const [, objectSchema] = schemas[0] ?? [];
      const reply = await post('/api/chat', {
        model: 'llama3.1',
        stream: false,
        format: objectSchema,
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(JSON.parse(content(reply.body))).toMatchObject({ level: 'low', score: 0, confidence: 0.5 });
      const [, anyOfSchema] = schemas[2] ?? [];
      const choice = await post('/api/generate', {
        model: 'llama3.1',
        stream: false,
        format: anyOfSchema,
        prompt: 'x',
      });
      expect(JSON.parse(content(choice.body))).toEqual({
        call: { name: 'get_weather', arguments: { city: expect.any(String) } },
        note: expect.any(String),
      });
    });

    it('records the format a request carried', async () => {
      const format = { type: 'object', properties: { ok: { type: 'boolean' } } };
      await post('/api/chat', { model: 'llama3.1', stream: false, format, messages: [{ role: 'user', content: 'x' }] });
      expect(emulator.lastRequest({ endpoint: 'chat' })?.format).toEqual(format);
    });
  });
});

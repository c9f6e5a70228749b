import { postJson } from '../support/http';
import { OllamaEmulator } from './ollama-emulator';
import type { Json } from './test-helpers';

jest.setTimeout(30_000);

const TOOLS = [
  {
    type: 'function',
    function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  },
];
const IMAGE = Buffer.from('not really a png').toString('base64');

async function show(emulator: OllamaEmulator, model: string): Promise<Json> {
  const res = await postJson(`${emulator.url}/api/show`, { model });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

async function errorOf(res: Response): Promise<{ status: number; error: unknown }> {
  return { status: res.status, error: ((await res.json()) as Json)['error'] };
}

describe('OllamaEmulator capabilities', () => {
  let emulator: OllamaEmulator;

  beforeEach(async () => {
    emulator = new OllamaEmulator({
      models: [
        'llama3.1:latest',
        'qwen2.5:7b',
        'nomic-embed-text:latest',
        'all-minilm:latest',
        'llava:latest',
        'llama3.2-vision:latest',
      ],
    });
    await emulator.start(0);
  });

  afterEach(async () => {
    await emulator.stop();
  });

  describe('the catalog', () => {
    it.each([
      ['llama3.1:latest', ['completion', 'tools']],
      ['qwen2.5:7b', ['completion', 'tools']],
      ['nomic-embed-text:latest', ['embedding']],
      ['all-minilm:latest', ['embedding']],
      ['llava:latest', ['completion', 'vision']],
      ['llama3.2-vision:latest', ['completion', 'vision']],
    ])('reports the capabilities of %s in /api/show and /api/tags', async (model, capabilities) => {
      expect((await show(emulator, model))['capabilities']).toEqual(capabilities);
      const { models } = (await (await fetch(`${emulator.url}/api/tags`)).json()) as { models: Json[] };
      expect(models.find((m) => m['name'] === model)?.['capabilities']).toEqual(capabilities);
    });

    it('describes an embedding model with its vector length, context length and pooling', async () => {
      const body = await show(emulator, 'nomic-embed-text');
      expect(body['details']).toMatchObject({
        family: 'nomic-bert',
        parameter_size: '137M',
        quantization_level: 'F16',
      });
      expect(body['model_info']).toMatchObject({
        'general.architecture': 'nomic-bert',
        'nomic-bert.context_length': 2048,
        'nomic-bert.embedding_length': 768,
        'nomic-bert.pooling_type': 1,
      });
      expect(body).not.toHaveProperty('projector_info');
      expect((await show(emulator, 'all-minilm'))['model_info']).toMatchObject({ 'bert.embedding_length': 384 });
    });

    it('describes a vision model with its projector', async () => {
      const body = await show(emulator, 'llava');
      expect(body['details']).toMatchObject({ families: ['llama', 'clip'] });
      expect(body['projector_info']).toMatchObject({ 'general.architecture': 'clip', 'clip.has_vision_encoder': true });
    });

    it('adds a model with the capabilities a test chooses, locally or only in the registry', async () => {
      emulator.addModel('my-thinker:8b', { capabilities: ['completion', 'tools', 'thinking'], contextLength: 8192 });
      expect(await show(emulator, 'my-thinker:8b')).toMatchObject({
        capabilities: ['completion', 'tools', 'thinking'],
        details: { parameter_size: '8.0B' },
      });
      expect(emulator.options.models).toContain('my-thinker:8b');

      emulator.addModel('remote-embedder', { capabilities: ['embedding'], embeddingLength: 512 }, { local: false });
      expect((await postJson(`${emulator.url}/api/show`, { model: 'remote-embedder' })).status).toBe(404);
      const pull = await postJson(`${emulator.url}/api/pull`, { model: 'remote-embedder', stream: false });
      expect(await pull.json()).toEqual({ status: 'success' });
      expect(await show(emulator, 'remote-embedder')).toMatchObject({
        capabilities: ['embedding'],
        model_info: { 'bert.embedding_length': 512 },
      });
    });

    it('refuses a model with an unknown capability or an invalid name', () => {
      expect(() => emulator.addModel('x', { capabilities: ['telepathy' as never] })).toThrow(
        'unknown capability: "telepathy"',
      );
      expect(() => emulator.addModel('bad name!')).toThrow('invalid model name: "bad name!"');
    });

    it('guesses capabilities from the name of a model the registry does not know', async () => {
      emulator.configure({ models: ['bge-m3:latest', 'acme/llava-next:13b', 'phi4:14b'] });
      expect((await show(emulator, 'bge-m3'))['capabilities']).toEqual(['embedding']);
      expect((await show(emulator, 'acme/llava-next:13b'))['capabilities']).toEqual(['completion', 'vision']);
      expect((await show(emulator, 'phi4:14b'))['capabilities']).toEqual(['completion', 'tools']);
    });

    it('adds models over the control API too', async () => {
      const res = await postJson(`${emulator.url}/__emulator/models`, {
        name: 'tiny-embed:v1',
        capabilities: ['embedding'],
      });
      expect(res.status).toBe(200);
      expect((await show(emulator, 'tiny-embed:v1'))['capabilities']).toEqual(['embedding']);
      const bad = await postJson(`${emulator.url}/__emulator/models`, { name: 'y', capabilities: ['nope'] });
      expect(await errorOf(bad)).toEqual({ status: 400, error: 'unknown capability: "nope"' });
    });
  });

  describe('the 400s for a capability a model lacks', () => {
    it('refuses chat and generate on an embedding model, naming the model as the request did', async () => {
      const chat = await postJson(`${emulator.url}/api/chat`, {
        model: 'nomic-embed-text',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(await errorOf(chat)).toEqual({ status: 400, error: '"nomic-embed-text" does not support chat' });
      const load = await postJson(`${emulator.url}/api/chat`, { model: 'nomic-embed-text:latest' });
      expect(await errorOf(load)).toEqual({ status: 400, error: '"nomic-embed-text:latest" does not support chat' });
      const generate = await postJson(`${emulator.url}/api/generate`, { model: 'all-minilm', prompt: 'hi' });
      expect(await errorOf(generate)).toEqual({ status: 400, error: '"all-minilm" does not support generate' });
    });

    it('refuses embeddings from a model without the embedding capability', async () => {
      const embed = await postJson(`${emulator.url}/api/embed`, { model: 'llama3.1', input: 'hi' });
      expect(await errorOf(embed)).toEqual({
        status: 400,
        error: 'registry.ollama.ai/library/llama3.1:latest does not support embedding',
      });
      const legacy = await postJson(`${emulator.url}/api/embeddings`, { model: 'llava', prompt: 'hi' });
      expect(await errorOf(legacy)).toEqual({
        status: 400,
        error: 'registry.ollama.ai/library/llava:latest does not support embedding',
      });
    });

    it('refuses tools to a model without tools, and images to a model without vision', async () => {
      const tools = await postJson(`${emulator.url}/api/chat`, {
        model: 'llava',
        messages: [{ role: 'user', content: 'weather?' }],
        tools: TOOLS,
      });
      expect(await errorOf(tools)).toEqual({
        status: 400,
        error: 'registry.ollama.ai/library/llava:latest does not support tools',
      });
      const chatImage = await postJson(`${emulator.url}/api/chat`, {
        model: 'qwen2.5:7b',
        messages: [{ role: 'user', content: 'what is this?', images: [IMAGE] }],
      });
      expect(await errorOf(chatImage)).toEqual({
        status: 400,
        error: 'registry.ollama.ai/library/qwen2.5:7b does not support vision',
      });
      const generateImage = await postJson(`${emulator.url}/api/generate`, {
        model: 'llama3.1',
        prompt: 'what is this?',
        images: [IMAGE],
      });
      expect(await errorOf(generateImage)).toEqual({
        status: 400,
        error: 'registry.ollama.ai/library/llama3.1:latest does not support vision',
      });
    });

    it('lists every missing capability on its own line, with the full name of a namespaced model', async () => {
      emulator.addModel('acme/plain:v1', { capabilities: ['completion'] });
      const res = await postJson(`${emulator.url}/api/chat`, {
        model: 'acme/plain:v1',
        messages: [{ role: 'user', content: 'look', images: [IMAGE] }],
        tools: TOOLS,
      });
      expect(await errorOf(res)).toEqual({
        status: 400,
        error: 'registry.ollama.ai/acme/plain:v1 does not support tools\nvision',
      });
      const suffix = await postJson(`${emulator.url}/api/generate`, {
        model: 'acme/plain:v1',
        prompt: 'a',
        suffix: 'b',
      });
      expect(await errorOf(suffix)).toEqual({
        status: 400,
        error: 'registry.ollama.ai/acme/plain:v1 does not support insert',
      });
    });

    it('accepts an empty tools list on any chat model', async () => {
      const res = await postJson(`${emulator.url}/api/chat`, {
        model: 'llava',
        stream: false,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [],
      });
      expect(res.status).toBe(200);
    });

    it('decides before loading anything, and still unloads an embedding model through chat', async () => {
      await postJson(`${emulator.url}/api/embed`, { model: 'llama3.1', input: 'x' });
      await postJson(`${emulator.url}/api/chat`, { model: 'all-minilm', messages: [{ role: 'user', content: 'x' }] });
      expect(emulator.stats.loads).toBe(0);
      expect(emulator.residentModels()).toEqual([]);

      await postJson(`${emulator.url}/api/embed`, { model: 'all-minilm', input: '' });
      expect(emulator.residentModels()).toEqual(['all-minilm:latest']);
      const unload = await postJson(`${emulator.url}/api/chat`, { model: 'all-minilm', keep_alive: 0 });
      expect(await unload.json()).toMatchObject({ done: true, done_reason: 'unload' });
      expect(emulator.residentModels()).toEqual([]);
    });

    it('answers the OpenAI-compatible chat with the same texts in the OpenAI error shape', async () => {
      const res = await postJson(`${emulator.url}/v1/chat/completions`, {
        model: 'nomic-embed-text',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          message: '"nomic-embed-text" does not support chat',
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      });
      const image = await postJson(`${emulator.url}/v1/chat/completions`, {
        model: 'llama3.1',
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${IMAGE}` } }],
          },
        ],
      });
      expect(((await image.json()) as { error: Json }).error['message']).toBe(
        'registry.ollama.ai/library/llama3.1:latest does not support vision',
      );
    });
  });
});

import { eventually } from '../support/eventually';
import { postJson } from '../support/http';
import { OllamaEmulator } from './ollama-emulator';
import { parseRfc3339, type Json } from './test-helpers';

jest.setTimeout(30_000);

interface EmbedResponse {
  model: string;
  embeddings: number[][];
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
}

function norm(vector: readonly number[]): number {
  return Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
}

function cosine(a: readonly number[], b: readonly number[]): number {
  return a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0) / (norm(a) * norm(b));
}

describe('OllamaEmulator embeddings', () => {
  let emulator: OllamaEmulator;

  async function embed(body: unknown): Promise<EmbedResponse> {
    const res = await postJson(`${emulator.url}/api/embed`, body);
    expect(res.status).toBe(200);
    return (await res.json()) as EmbedResponse;
  }

  async function errorOf(path: string, body: unknown): Promise<{ status: number; error: unknown }> {
    const res = await postJson(`${emulator.url}${path}`, body);
    return { status: res.status, error: ((await res.json()) as Json)['error'] };
  }

  async function ps(): Promise<Json[]> {
    return ((await (await fetch(`${emulator.url}/api/ps`)).json()) as { models: Json[] }).models;
  }

  beforeEach(async () => {
    emulator = new OllamaEmulator({ models: ['nomic-embed-text:latest', 'all-minilm:latest', 'llama3.1:latest'] });
    await emulator.start(0);
  });

  afterEach(async () => {
    await emulator.stop();
  });

  describe('POST /api/embed', () => {
    it('answers with the model as named, one normalised float32 vector of the model dimension, and metrics', async () => {
      const res = await postJson(`${emulator.url}/api/embed`, {
        model: 'nomic-embed-text',
        input: 'Why is the sky blue?',
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = (await res.json()) as EmbedResponse;
      expect(Object.keys(body)).toEqual([
        'model',
        'embeddings',
        'total_duration',
        'load_duration',
        'prompt_eval_count',
      ]);
      expect(body.model).toBe('nomic-embed-text');
      expect(body.embeddings).toHaveLength(1);
      const [vector = []] = body.embeddings;
      expect(vector).toHaveLength(768);
      expect(norm(vector)).toBeCloseTo(1, 5);
      // Go writes a float32 as the shortest decimal that reads back as it: at most 9 significant digits.
      const significantDigits = (v: number): number =>
        v.toExponential().split('e')[0]?.replace(/[-.]/g, '').length ?? 0;
      expect(Math.max(...vector.map(significantDigits))).toBeLessThanOrEqual(9);
      for (const value of vector) {
        const asFloat32 = Math.fround(value);
        const digits = significantDigits(value);
        expect(Math.fround(Number(asFloat32.toPrecision(digits)))).toBe(asFloat32);
        if (digits > 1) {
          expect(Math.fround(Number(asFloat32.toPrecision(digits - 1)))).not.toBe(asFloat32);
        }
      }
      expect(Number.isInteger(body.total_duration)).toBe(true);
      expect(Number.isInteger(body.load_duration)).toBe(true);
      expect(body.total_duration).toBeGreaterThanOrEqual(body.load_duration ?? Infinity);
      // Five word pieces, BOS and EOS.
      expect(body.prompt_eval_count).toBe(7);
    });

    it('embeds each input of an array in order, with the dimension of each model', async () => {
      const body = await embed({ model: 'all-minilm', input: ['first text', 'second text', 'first text'] });
      expect(body.embeddings.map((v) => v.length)).toEqual([384, 384, 384]);
      expect(body.embeddings[2]).toEqual(body.embeddings[0]);
      expect(body.embeddings[1]).not.toEqual(body.embeddings[0]);
      expect(body.prompt_eval_count).toBe(12);
    });

    it('gives the same text the same vector on every request, and related texts closer vectors', async () => {
      const texts = [
        'the cat sat on the mat',
        'the cat sat on the mat',
        'a cat sat on a mat',
        'stock prices fell sharply',
      ];
      const [same1 = [], same2 = [], related = [], unrelated = []] = (
        await embed({ model: 'nomic-embed-text', input: texts })
      ).embeddings;
      const again = (await embed({ model: 'nomic-embed-text', input: texts[0] })).embeddings[0];
      expect(again).toEqual(same1);
      expect(same2).toEqual(same1);
      expect(cosine(same1, related)).toBeGreaterThan(cosine(same1, unrelated) + 0.2);
      expect(cosine(same1, related)).toBeLessThan(0.9999);
    });

    it('cuts vectors to `dimensions` and normalises them again, and ignores a larger value', async () => {
      const full = (await embed({ model: 'nomic-embed-text', input: 'truncate me' })).embeddings[0] ?? [];
      const cut =
        (await embed({ model: 'nomic-embed-text', input: 'truncate me', dimensions: 256 })).embeddings[0] ?? [];
      expect(cut).toHaveLength(256);
      expect(norm(cut)).toBeCloseTo(1, 5);
      const prefix = full.slice(0, 256);
      expect(cosine(cut, prefix)).toBeCloseTo(1, 5);
      expect(cut[0]).toBeCloseTo((prefix[0] ?? 0) / norm(prefix), 5);
      const larger = await embed({ model: 'nomic-embed-text', input: 'truncate me', dimensions: 4096 });
      expect(larger.embeddings[0]).toEqual(full);
    });

    it('only loads the model for an empty input, keeping it for the keep_alive it was given', async () => {
      for (const input of ['', [], undefined]) {
        const res = await postJson(`${emulator.url}/api/embed`, {
          model: 'nomic-embed-text',
          input,
          keep_alive: '10m',
        });
        expect(await res.json()).toEqual({ model: 'nomic-embed-text', embeddings: [] });
      }
      expect(emulator.stats.loads).toBe(1);
      const [loaded] = await ps();
      expect(loaded).toMatchObject({ name: 'nomic-embed-text:latest' });
      const expiresIn = parseRfc3339(String(loaded?.['expires_at'])) - Date.now();
      expect(expiresIn).toBeGreaterThan(9 * 60_000);
      expect(expiresIn).toBeLessThanOrEqual(10 * 60_000);
    });

    it('unloads after a request with keep_alive 0, and when a short keep_alive runs out', async () => {
      await embed({ model: 'all-minilm', input: 'x', keep_alive: 0 });
      await eventually('the model to unload', () => emulator.residentModels().length === 0, 5_000);
      await embed({ model: 'all-minilm', input: 'x', keep_alive: '300ms' });
      expect(emulator.residentModels()).toEqual(['all-minilm:latest']);
      await eventually('the keep-alive to expire', () => emulator.residentModels().length === 0, 5_000);
      expect(emulator.stats.models['all-minilm:latest']).toMatchObject({ loads: 2, unloads: 2 });
    });

    it('reloads the model for another num_ctx, as chat does', async () => {
      await embed({ model: 'all-minilm', input: 'x' });
      await embed({ model: 'all-minilm', input: 'x', options: { num_ctx: 256 } });
      expect(emulator.stats).toMatchObject({ loads: 2, unloads: 1 });
      expect((await ps())[0]).toMatchObject({ context_length: 256 });
    });

    it('cuts an input longer than the context unless truncate is false, which is a 400', async () => {
      const long = Array.from({ length: 700 }, (_, i) => `w${i}`).join(' ');
      const cut = await embed({ model: 'all-minilm', input: long });
      expect(cut.prompt_eval_count).toBe(512);
      const first510 = long.split(' ').slice(0, 510).join(' ');
      expect(cut.embeddings[0]).toEqual((await embed({ model: 'all-minilm', input: first510 })).embeddings[0]);
      expect(await errorOf('/api/embed', { model: 'all-minilm', input: ['short', long], truncate: false })).toEqual({
        status: 400,
        error: 'the input length exceeds the context length',
      });
    });

    it('answers bad requests with Ollama statuses and texts', async () => {
      expect(await errorOf('/api/embed', { model: 'all-minilm', input: 42 })).toEqual({
        status: 400,
        error: 'invalid input type',
      });
      expect(await errorOf('/api/embed', { model: 'all-minilm', input: ['ok', 1] })).toEqual({
        status: 400,
        error: 'invalid input type',
      });
      expect(await errorOf('/api/embed', { model: 'mystery-embed', input: 'x' })).toEqual({
        status: 404,
        error: 'model "mystery-embed" not found, try pulling it first',
      });
      expect(await errorOf('/api/embed', { input: 'x' })).toEqual({ status: 404, error: "model '' not found" });
      expect(await errorOf('/api/embed', '')).toEqual({ status: 400, error: 'missing request body' });
      expect(await errorOf('/api/embed', { model: 'all-minilm', input: 'x', keep_alive: '-1' })).toEqual({
        status: 400,
        error: 'time: missing unit in duration "-1"',
      });
      expect(await errorOf('/api/embed', { model: 'all-minilm', input: 'x', dimensions: '8' })).toEqual({
        status: 400,
        error: 'json: cannot unmarshal string into Go struct field EmbedRequest.dimensions of type int',
      });
      expect(await errorOf('/api/embed', { model: 'all-minilm', input: 'x', options: { num_ctx: 'big' } })).toEqual({
        status: 500,
        error: 'option "num_ctx" must be of type integer',
      });
    });
  });

  describe('POST /api/embeddings (legacy)', () => {
    it('answers `embedding` with the raw vector: same direction as /api/embed, not normalised', async () => {
      const res = await postJson(`${emulator.url}/api/embeddings`, {
        model: 'nomic-embed-text',
        prompt: 'hello world',
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { embedding: number[] };
      expect(Object.keys(body)).toEqual(['embedding']);
      expect(body.embedding).toHaveLength(768);
      expect(norm(body.embedding)).toBeGreaterThan(2);
      const normalised = (await embed({ model: 'nomic-embed-text', input: 'hello world' })).embeddings[0] ?? [];
      expect(cosine(body.embedding, normalised)).toBeCloseTo(1, 5);
    });

    it('loads the model for an empty prompt and answers an empty embedding', async () => {
      const res = await postJson(`${emulator.url}/api/embeddings`, { model: 'all-minilm', keep_alive: -1 });
      expect(await res.json()).toEqual({ embedding: [] });
      expect(emulator.residentModels()).toEqual(['all-minilm:latest']);
      const expires = new Date(parseRfc3339(String((await ps())[0]?.['expires_at'])));
      expect(expires.getUTCFullYear()).toBeGreaterThanOrEqual(new Date().getUTCFullYear() + 292);
    });

    it('answers a missing model and an unknown one as Ollama does', async () => {
      expect(await errorOf('/api/embeddings', { prompt: 'x' })).toEqual({ status: 400, error: 'model is required' });
      expect(await errorOf('/api/embeddings', { model: 'nope', prompt: 'x' })).toEqual({
        status: 404,
        error: 'model "nope" not found, try pulling it first',
      });
    });
  });

  describe('POST /v1/embeddings', () => {
    it('answers an OpenAI embedding list with the same vectors as /api/embed, and usage', async () => {
      const res = await postJson(`${emulator.url}/v1/embeddings`, { model: 'all-minilm', input: ['one', 'two words'] });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Json;
      const native = await embed({ model: 'all-minilm', input: ['one', 'two words'] });
      expect(body).toEqual({
        object: 'list',
        data: [
          { object: 'embedding', embedding: native.embeddings[0], index: 0 },
          { object: 'embedding', embedding: native.embeddings[1], index: 1 },
        ],
        model: 'all-minilm',
        usage: { prompt_tokens: native.prompt_eval_count, total_tokens: native.prompt_eval_count },
      });
    });

    it('encodes vectors as base64 little-endian float32 on request, and passes dimensions on', async () => {
      const res = await postJson(`${emulator.url}/v1/embeddings`, {
        model: 'nomic-embed-text',
        input: 'encode me',
        encoding_format: 'base64',
        dimensions: 8,
      });
      const { data } = (await res.json()) as { data: Array<{ embedding: string }> };
      const bytes = Buffer.from(data[0]?.embedding ?? '', 'base64');
      const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
      const native =
        (await embed({ model: 'nomic-embed-text', input: 'encode me', dimensions: 8 })).embeddings[0] ?? [];
      expect(decoded).toHaveLength(8);
      decoded.forEach((value, i) => expect(value).toBeCloseTo(native[i] ?? NaN, 6));
    });

    it('answers errors in the OpenAI shape', async () => {
      const error = async (body: unknown): Promise<unknown> => {
        const res = await postJson(`${emulator.url}/v1/embeddings`, body);
        return { status: res.status, ...((await res.json()) as Json) };
      };
      expect(await error({ model: 'all-minilm' })).toEqual({
        status: 400,
        error: { message: 'invalid input', type: 'invalid_request_error', param: null, code: null },
      });
      expect(await error({ model: 'all-minilm', input: 'x', encoding_format: 'int8' })).toMatchObject({
        status: 400,
        error: { message: "Invalid value for 'encoding_format' = int8. Supported values: ['float', 'base64']." },
      });
      expect(await error({ model: 'llama3.1', input: 'x' })).toMatchObject({
        status: 400,
        error: { message: 'registry.ollama.ai/library/llama3.1:latest does not support embedding' },
      });
      expect(await error({ model: 'ghost', input: 'x' })).toMatchObject({
        status: 404,
        error: { message: 'model "ghost" not found, try pulling it first', type: 'not_found_error' },
      });
      expect(emulator.requestCount({ endpoint: 'openai-embeddings' })).toBe(4);
    });
  });

  describe('records and counters', () => {
    it('counts embedding requests and loads per model and keeps what they carried', async () => {
      await embed({ model: 'nomic-embed-text', input: ['a', 'b'], keep_alive: '20m', dimensions: 64 });
      await postJson(`${emulator.url}/api/embeddings`, { model: 'nomic-embed-text', prompt: 'c' });
      expect(emulator.requestCount({ model: 'nomic-embed-text', endpoint: 'embed' })).toBe(1);
      expect(emulator.requestCount({ model: 'nomic-embed-text:latest', endpoint: 'embeddings' })).toBe(1);
      expect(emulator.requestCount({ model: 'nomic-embed-text', endpoint: 'chat' })).toBe(0);
      expect(emulator.stats.models['nomic-embed-text:latest']).toMatchObject({ loads: 1, aborted: 0 });
      expect(emulator.lastRequest({ endpoint: 'embed' })).toMatchObject({
        path: '/api/embed',
        model: 'nomic-embed-text',
        keepAlive: '20m',
        status: 200,
        aborted: false,
      });
    });

    it('counts an embedding request whose client left before the answer as aborted', async () => {
      emulator.configure({ tokenDelayMs: 200 });
      const controller = new AbortController();
      const pending = postJson(
        `${emulator.url}/api/embed`,
        { model: 'all-minilm', input: ['a', 'b', 'c', 'd', 'e'] },
        { signal: controller.signal },
      ).catch((err: unknown) => err);
      await eventually('the embedding to start', () => emulator.stats.inFlight === 1);
      controller.abort();
      await pending;
      await eventually('the abort to be counted', () => emulator.stats.abortedStreams === 1);
      expect(emulator.stats.models['all-minilm:latest']?.aborted).toBe(1);
      expect(emulator.lastRequest({ model: 'all-minilm' })).toMatchObject({ aborted: true, status: 499 });
    });
  });
});

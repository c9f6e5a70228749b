import { OllamaEmulator } from './ollama-emulator';
import { RFC3339_NANO, parseRfc3339, psModels, type Json, useEmulator } from './test-helpers';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';

/** One non-streamed chat with `llama3.1`, read to the end; `fields` are added to the body. */
async function chatOnce(emulator: OllamaEmulator, fields: Record<string, unknown> = {}): Promise<void> {
  const res = await postJson(`${emulator.url}/api/chat`, {
    model: 'llama3.1',
    stream: false,
    ...fields,
    messages: [{ role: 'user', content: 'x' }],
  });
  await res.text();
}

jest.setTimeout(30_000);

describe('OllamaEmulator', () => {
  const h = useEmulator();

  describe('keep_alive and residency', () => {
    h.startEach(() => new OllamaEmulator({ models: ['llama3.1:latest', 'qwen2.5:0.5b'] }));

    it('accepts keep_alive as seconds or a Go duration and rejects unitless strings and other types', async () => {
      const accepted: unknown[] = [300, 1.5, -1, 0.25, '10m', '1h30m', '300ms', '-1m', '0', '24h', null];
      for (const keepAlive of accepted) {
        const res = await postJson(`${h.emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          keep_alive: keepAlive,
        });
        expect({ keepAlive, status: res.status }).toEqual({ keepAlive, status: 200 });
        await res.text();
      }
      const rejected: Array<[unknown, string]> = [
        ['-1', 'time: missing unit in duration "-1"'],
        ['300', 'time: missing unit in duration "300"'],
        ['5 minutes', 'time: unknown unit " minutes" in duration "5 minutes"'],
        ['abc', 'time: invalid duration "abc"'],
        [true, "Unsupported type: 'bool'"],
        [[1], "Unsupported type: '[]interface {}'"],
        [{ s: 1 }, "Unsupported type: 'map[string]interface {}'"],
      ];
      for (const [keepAlive, message] of rejected) {
        const res = await postJson(`${h.emulator.url}/api/chat`, {
          model: 'llama3.1',
          messages: [{ role: 'user', content: 'x' }],
          keep_alive: keepAlive,
        });
        expect({ keepAlive, status: res.status, body: await res.json() }).toEqual({
          keepAlive,
          status: 400,
          body: { error: message },
        });
      }
      expect(h.emulator.stats.keepAliveSeen).toEqual([...accepted, ...rejected.map(([value]) => value)]);
    });

    it('shows a loaded model in /api/ps with expires_at = finish + keep_alive in local RFC3339', async () => {
      const before = Date.now();
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '10m' })).text();
      const after = Date.now();
      const [model, ...others] = await psModels(h.emulator);
      expect(others).toEqual([]);
      expect(model).toMatchObject({
        name: 'llama3.1:latest',
        model: 'llama3.1:latest',
        digest: expect.stringMatching(/^[0-9a-f]{64}$/),
        details: expect.objectContaining({ family: 'llama', format: 'gguf' }),
        context_length: 4096,
      });
      expect(model?.['size_vram']).toBe(model?.['size']);
      expect(model?.['expires_at']).toMatch(RFC3339_NANO);
      const expires = parseRfc3339(model?.['expires_at'] as string);
      expect(expires).toBeGreaterThanOrEqual(before + 600_000 - 5);
      expect(expires).toBeLessThanOrEqual(after + 600_000 + 5);
    });

    it('keeps a model with a negative keep_alive forever (expires_at about 292 years ahead)', async () => {
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: -1 })).text();
      const [model] = await psModels(h.emulator);
      const year = new Date(parseRfc3339(model?.['expires_at'] as string)).getUTCFullYear();
      expect(year).toBeGreaterThanOrEqual(new Date().getUTCFullYear() + 292);
      expect(year).toBeLessThanOrEqual(new Date().getUTCFullYear() + 293);
    });

    it('unloads a model when a short keep_alive runs out after the last request', async () => {
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '300ms' })).text();
      expect(h.emulator.residentModels()).toEqual(['llama3.1:latest']);
      await eventually('the keep-alive to expire', () => h.emulator.residentModels().length === 0);
      expect(await psModels(h.emulator)).toEqual([]);
      expect(h.emulator.stats).toMatchObject({ loads: 1, unloads: 1 });
    });

    it('starts the countdown only when the last active request finishes', async () => {
      h.emulator.configure({ tokenDelayMs: 100, replyText: 'a b c d e f g h' });
      const started = Date.now();
      const res = await postJson(`${h.emulator.url}/api/generate`, {
        model: 'llama3.1',
        prompt: 'x',
        keep_alive: '200ms',
      });
      await res.text();
      const finished = Date.now();
      // The request took ~800 ms, far beyond the 200 ms keep-alive, and the model is still there.
      expect(finished - started).toBeGreaterThanOrEqual(700);
      const [model] = await psModels(h.emulator);
      expect(model?.['name']).toBe('llama3.1:latest');
      expect(parseRfc3339(model?.['expires_at'] as string)).toBeGreaterThanOrEqual(finished - 200);
      await eventually('the keep-alive to expire', () => h.emulator.residentModels().length === 0);
    });

    it('overwrites the resident keep_alive only when a request carries one', async () => {
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: -1 })).text();
      await chatOnce(h.emulator);
      const [forever] = await psModels(h.emulator);
      expect(new Date(parseRfc3339(forever?.['expires_at'] as string)).getUTCFullYear()).toBeGreaterThan(2300);

      await chatOnce(h.emulator, { keep_alive: '300ms' });
      const [short] = await psModels(h.emulator);
      expect(parseRfc3339(short?.['expires_at'] as string)).toBeLessThan(Date.now() + 5_000);
      await eventually('the new keep-alive to expire', () => h.emulator.residentModels().length === 0);
    });

    it('uses the server default keep-alive when a load request carries none', async () => {
      h.emulator.configure({ defaultKeepAlive: '400ms' });
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1' })).text();
      const [model] = await psModels(h.emulator);
      expect(parseRfc3339(model?.['expires_at'] as string)).toBeLessThan(Date.now() + 2_000);
      await eventually('the default keep-alive to expire', () => h.emulator.residentModels().length === 0);
    });

    it('unloads right after a request that did work with keep_alive 0', async () => {
      const body = (await (
        await postJson(`${h.emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          keep_alive: 0,
        })
      ).json()) as Json;
      expect(body['done_reason']).toBe('stop');
      await eventually('the model to unload', () => h.emulator.residentModels().length === 0);
      expect(h.emulator.stats.unloads).toBe(1);
    });

    it('sorts /api/ps by the latest expiry first', async () => {
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '10m' })).text();
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'qwen2.5:0.5b', keep_alive: '2h' })).text();
      expect((await psModels(h.emulator)).map((m) => m['name'])).toEqual(['qwen2.5:0.5b', 'llama3.1:latest']);
    });

    it('pays the load time on a cold load only, and reports it in load_duration', async () => {
      h.emulator.configure({ loadTimeMs: 400 });
      const cold = (await (
        await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false })
      ).json()) as Json;
      const warm = (await (
        await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false })
      ).json()) as Json;
      expect(cold['load_duration']).toBeGreaterThanOrEqual(400_000_000);
      expect(warm['load_duration']).toBeGreaterThan(0);
      expect(warm['load_duration']).toBeLessThan(200_000_000);
      expect(h.emulator.stats.loads).toBe(1);
    });

    it('reloads the model when a request asks for another num_ctx', async () => {
      await (
        await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', options: { num_ctx: 8192 } })
      ).text();
      expect((await psModels(h.emulator))[0]?.['context_length']).toBe(8192);
      await chatOnce(h.emulator, { options: { num_ctx: 8192 } });
      expect(h.emulator.stats).toMatchObject({ loads: 1, unloads: 0 });
      await chatOnce(h.emulator);
      expect(h.emulator.stats).toMatchObject({ loads: 2, unloads: 1 });
      expect((await psModels(h.emulator))[0]?.['context_length']).toBe(4096);
    });

    it('lists a loading model in /api/ps before it is resident', async () => {
      h.emulator.configure({ loadTimeMs: 1_000 });
      const pending = postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: '10m' });
      await eventually('the loading model to be listed', async () => (await psModels(h.emulator)).length === 1);
      expect(h.emulator.residentModels()).toEqual([]);
      expect((await (await pending).json()) as Json).toMatchObject({ done_reason: 'load' });
      expect(h.emulator.residentModels()).toEqual(['llama3.1:latest']);
    });

    it('evicts every model on unloadAll()', async () => {
      await (await postJson(`${h.emulator.url}/api/generate`, { model: 'llama3.1', keep_alive: -1 })).text();
      h.emulator.unloadAll();
      expect(await psModels(h.emulator)).toEqual([]);
      expect(h.emulator.stats.unloads).toBe(1);
    });
  });
});

import { OllamaEmulator } from './ollama-emulator';
import { LineReader, psModels, type Json, useEmulator } from './test-helpers';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';

jest.setTimeout(30_000);

describe('OllamaEmulator', () => {
  const h = useEmulator();

  describe('concurrency and client disconnects', () => {
    h.startEach(() => new OllamaEmulator({ replyText: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ') }));

    it('counts simultaneous inference requests and serves one at a time per model by default', async () => {
      h.emulator.configure({ tokenDelayMs: 20 });
      const run = async (): Promise<{ firstByteAt: number; doneAt: number }> => {
        const res = await postJson(`${h.emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          options: { num_predict: 5 },
        });
        const reader = LineReader.of(res);
        await reader.next();
        const firstByteAt = Date.now();
        while ((await reader.next()) !== undefined) {
          // drain
        }
        return { firstByteAt, doneAt: Date.now() };
      };
      const results = await Promise.all([run(), run(), run()]);
      expect(h.emulator.stats.maxConcurrentInference).toBe(3);
      expect(h.emulator.stats.inFlight).toBe(0);
      // With one parallel slot, a request starts streaming only after the previous one finished.
      const ordered = [...results].sort((a, b) => a.firstByteAt - b.firstByteAt);
      for (let i = 1; i < ordered.length; i++) {
        expect(ordered[i]?.firstByteAt).toBeGreaterThanOrEqual((ordered[i - 1]?.doneAt ?? 0) - 5);
      }
    });

    it('serves requests to one model side by side when numParallel is 0 (unlimited)', async () => {
      h.emulator.configure({ tokenDelayMs: 100, numParallel: 0 });
      const readers = await Promise.all(
        [1, 2].map(async () =>
          LineReader.of(
            await postJson(`${h.emulator.url}/api/generate`, {
              model: 'llama3.1',
              prompt: 'x',
              options: { num_predict: 10 },
            }),
          ),
        ),
      );
      // Both stream their first token while neither has finished.
      const firsts = await Promise.all(readers.map((reader) => reader.next()));
      expect(firsts.every((line) => JSON.parse(line ?? '{}').done === false)).toBe(true);
      expect(h.emulator.stats.inFlight).toBe(2);
      for (const reader of readers) {
        while ((await reader.next()) !== undefined) {
          // drain
        }
      }
      expect(h.emulator.stats.loads).toBe(1);
    });

    it('stops generating when the client disconnects mid-stream and counts the aborted stream', async () => {
      h.emulator.configure({ tokenDelayMs: 50 });
      const controller = new AbortController();
      const res = await postJson(
        `${h.emulator.url}/api/chat`,
        { model: 'llama3.1', messages: [{ role: 'user', content: 'x' }] },
        { signal: controller.signal },
      );
      const reader = LineReader.of(res);
      expect(JSON.parse((await reader.next()) ?? '')).toMatchObject({ done: false });
      expect(h.emulator.stats.inFlight).toBe(1);
      controller.abort();
      await eventually(
        'the abort to be counted',
        () => h.emulator.stats.abortedStreams === 1 && h.emulator.stats.inFlight === 0,
      );

      // 200 tokens at 50 ms would hold the only slot for 10 s; a freed slot serves the next request at once.
      const started = Date.now();
      const next = (await (
        await postJson(`${h.emulator.url}/api/generate`, {
          model: 'llama3.1',
          prompt: 'x',
          stream: false,
          options: { num_predict: 1 },
        })
      ).json()) as Json;
      expect(next['done']).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('abandons a load when its only client leaves before the model is ready', async () => {
      h.emulator.configure({ loadTimeMs: 2_000 });
      const controller = new AbortController();
      const pending = postJson(
        `${h.emulator.url}/api/generate`,
        { model: 'llama3.1' },
        { signal: controller.signal },
      ).catch((err: unknown) => err);
      await eventually('the request to arrive', () => h.emulator.stats.inFlight === 1);
      controller.abort();
      await pending;
      await eventually('the load to be abandoned', () => h.emulator.stats.abandonedLoads === 1);
      expect(h.emulator.stats).toMatchObject({ loads: 0, abortedStreams: 1 });
      expect(await psModels(h.emulator)).toEqual([]);
    });
  });
});

import { setTimeout as delay } from 'node:timers/promises';
import { LlmService } from '../../src/llm/llm.service';
import { eventually } from '../support/eventually';
import { CHAT, LlmHarness, MODEL, drain, startHarness, timed, userMessage } from './harness';

describe(LlmService.name, () => {
  describe('warm model', () => {
    const LOAD_TIME_MS = 1_500;
    let harness: LlmHarness;

    beforeAll(async () => {
      harness = await startHarness(
        { OLLAMA_KEEP_ALIVE: '2s', LLM_KEEP_WARM: 'true', OLLAMA_TIMEOUT: '10' },
        { loadTimeMs: LOAD_TIME_MS, numParallel: 0 },
      );
      await harness.waitUntilReady();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('warms the model up with an empty generate request and the configured keep_alive', () => {
      const warmUp = harness.emulator.stats.lastRequests.find((request) => request.endpoint === 'generate');
      expect(warmUp?.body).toEqual({ model: MODEL, keep_alive: '2s', options: {}, stream: false });
      expect(harness.llm.status()).toMatchObject({ state: 'ready', model: MODEL, warm: true, circuit: 'closed' });
    });

    it('answers the first chat after readiness without a model load, faster than a load', async () => {
      harness.emulator.resetStats();
      const { value, elapsedMs } = await timed(() => harness.llm.chat(userMessage('hello there'), CHAT));

      expect(value?.content).toBe('hello there');
      expect(harness.emulator.stats.loads).toBe(0);
      expect(elapsedMs).toBeLessThan(LOAD_TIME_MS);
      expect(value?.model).toBe(MODEL);
      expect(value?.doneReason).toBe('stop');
      expect(value?.usage.completionTokens).toBeGreaterThan(0);
      expect(value?.timings.loadMs).toBeLessThan(LOAD_TIME_MS);
    });

    it('sends keep_alive with every inference request', async () => {
      harness.emulator.resetStats();
      await harness.llm.chat(userMessage('keep me'), CHAT);
      const chats = harness.emulator.stats.lastRequests.filter((request) => request.endpoint === 'chat');
      expect(chats).toHaveLength(1);
      expect(chats[0].body).toMatchObject({ model: MODEL, keep_alive: '2s', stream: false });
    });

    it('keeps the model resident through twice keep_alive of idleness', async () => {
      harness.emulator.resetStats();
      await delay(4_500);
      expect(harness.emulator.stats.unloads).toBe(0);
      expect(harness.llm.status().warm).toBe(true);

      const { value, elapsedMs } = await timed(() => harness.llm.chat(userMessage('still warm?'), CHAT));
      expect(value?.content).toBe('still warm?');
      expect(harness.emulator.stats.loads).toBe(0);
      expect(elapsedMs).toBeLessThan(LOAD_TIME_MS);
    });

    it('reloads a model that Ollama dropped before a request needs it', async () => {
      harness.emulator.resetStats();
      harness.emulator.unloadAll();
      await eventually('model reloaded', () => harness.emulator.stats.loads === 1, 10_000);
      await eventually('model ready again', () => harness.llm.status().state === 'ready', 10_000);
      expect(harness.llm.status().warm).toBe(true);
    });

    it('streams deltas and then one done with the usage and timings', async () => {
      const events = await harness.llm.stream(userMessage('one two three'), CHAT);
      const { events: seen, error } = await drain(events);

      expect(error).toBeUndefined();
      const text = seen.flatMap((event) => (event.type === 'delta' ? [event.text] : [])).join('');
      expect(text).toBe('one two three');
      const done = seen.filter((event) => event.type === 'done');
      expect(done).toHaveLength(1);
      expect(seen.at(-1)).toEqual(done[0]);
      expect(done[0].result).toMatchObject({
        model: MODEL,
        doneReason: 'stop',
        usage: { completionTokens: expect.any(Number), promptTokens: expect.any(Number) },
      });
    });
  });
});

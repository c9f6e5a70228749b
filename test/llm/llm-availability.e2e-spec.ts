import { ServiceUnavailableError } from '../../src/common/errors';
import { LlmService } from '../../src/llm/llm.service';
import { eventually } from '../support/eventually';
import { CHAT, LlmHarness, MODEL, counterValue, startHarness, timed, userMessage } from './harness';

describe(LlmService.name, () => {
  describe('missing model', () => {
    let harness: LlmHarness | undefined;

    afterEach(async () => {
      await harness?.close();
      harness = undefined;
    });

    it('pulls a missing model and goes from pulling to ready', async () => {
      harness = await startHarness(
        { OLLAMA_AUTO_PULL: 'true', LLM_KEEP_WARM: 'false' },
        { models: [], pullChunks: 20, pullChunkDelayMs: 40 },
      );
      const percents: number[] = [];
      await eventually(
        'pull progress seen',
        () => {
          const pull = harness?.llm.status().pull;
          if (pull !== undefined && percents.at(-1) !== pull.percent) {
            percents.push(pull.percent);
          }
          return harness?.statesSeen.at(-1) === 'ready';
        },
        30_000,
      );

      expect(harness.statesSeen).toContain('pulling');
      expect(harness.statesSeen.indexOf('pulling')).toBeLessThan(harness.statesSeen.lastIndexOf('ready'));
      expect(harness.statesSeen.slice(harness.statesSeen.indexOf('pulling'))).not.toContain('degraded');
      expect(percents.length).toBeGreaterThan(1);
      expect([...percents].sort((a, b) => a - b)).toEqual(percents);
      expect(harness.emulator.stats.requests.pull).toBe(1);
      expect(harness.emulator.options.models).toContain(MODEL);
    });

    it('refuses requests while the model is missing and auto-pull is off, saying what to run', async () => {
      harness = await startHarness({ OLLAMA_AUTO_PULL: 'false', LLM_KEEP_WARM: 'false' }, { models: [] });
      await eventually('degraded', () => harness?.llm.status().state === 'degraded');

      const expected = `model ${MODEL} not found in Ollama and OLLAMA_AUTO_PULL is off; run 'ollama pull ${MODEL}'`;
      expect(harness.llm.status().reason).toBe(expected);
      const { error } = await timed(() => harness!.llm.chat(userMessage('hi'), CHAT));
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ reason: 'not_ready', message: expected });
      expect((error as ServiceUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
      expect(harness.emulator.stats.requests.pull).toBeUndefined();
      expect(harness.emulator.stats.requests.chat).toBeUndefined();
      expect(await counterValue(harness.metrics, 'llm_requests_rejected_total', { reason: 'not_ready' })).toBe(1);
    });

    it('with LLM_WARMUP_BLOCKING starts listening only once the model is warm', async () => {
      harness = await startHarness({ LLM_WARMUP_BLOCKING: 'true', LLM_KEEP_WARM: 'false' }, { loadTimeMs: 1_000 });

      expect(harness.llm.status()).toMatchObject({ state: 'ready', warm: true });
      expect(harness.emulator.stats.loads).toBe(1);
      const ready = await fetch(`${harness.running.url}/health/llm`);
      expect(ready.status).toBe(200);
    });

    it('refuses requests with not_ready and the state while the model loads', async () => {
      harness = await startHarness({ LLM_KEEP_WARM: 'false' }, { loadTimeMs: 3_000 });
      await eventually('loading', () => harness?.llm.status().state === 'loading');

      const { error, elapsedMs } = await timed(() => harness!.llm.chat(userMessage('too early'), CHAT));
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ reason: 'not_ready', message: `model ${MODEL} is loading; retry shortly` });
      expect(elapsedMs).toBeLessThan(500);
      expect(harness.emulator.stats.requests.chat).toBeUndefined();
    });
  });

  describe('recovery', () => {
    let harness: LlmHarness;

    beforeAll(async () => {
      harness = await startHarness({ LLM_KEEP_WARM: 'false', OLLAMA_AUTO_PULL: 'true', OLLAMA_MAX_RETRIES: '0' });
      await harness.waitUntilReady();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('pulls and warms the model again when a request finds it missing (404)', async () => {
      harness.emulator.configure({ models: [] });
      harness.emulator.resetStats();

      const { error } = await timed(() => harness.llm.chat(userMessage('where is it?'), CHAT));
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ reason: 'not_ready' });
      expect((error as Error).message).not.toContain("model 'llama3.1:latest' not found");

      await eventually('ready again', () => harness.llm.status().state === 'ready', 20_000);
      expect(harness.emulator.stats.requests.pull).toBe(1);
      expect(harness.emulator.stats.requests.generate).toBe(1);
      await expect(harness.llm.chat(userMessage('back'), CHAT)).resolves.toMatchObject({ content: 'back' });
    });

    it('reports Ollama going away, refuses with ollama_unreachable, and warms up again when it is back', async () => {
      const port = harness.emulator.port;
      await harness.emulator.stop();
      await eventually('degraded', () => harness.llm.status().state === 'degraded', 30_000);
      expect(harness.llm.status().reason).toBe(`Ollama is not answering at ${harness.emulator.url}`);
      const { error } = await timed(() => harness.llm.chat(userMessage('anyone?'), CHAT));
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ reason: 'ollama_unreachable' });

      await harness.emulator.start(port);
      harness.emulator.resetStats();
      await eventually('ready again', () => harness.llm.status().state === 'ready', 30_000);
      expect(harness.emulator.stats.loads).toBe(1);
      await expect(harness.llm.chat(userMessage('welcome back'), CHAT)).resolves.toMatchObject({
        content: 'welcome back',
      });
    });
  });
});

import { ServiceUnavailableError } from '../../src/common/errors';
import { LlmService } from '../../src/llm/llm.service';
import type { LlmStreamEvent } from '../../src/llm/llm.types';
import { eventually } from '../support/eventually';
import { CHAT, LlmHarness, counterValue, drain, startHarness, timed, userMessage } from './harness';

describe(LlmService.name, () => {
  describe('admission', () => {
    let harness: LlmHarness;

    beforeAll(async () => {
      harness = await startHarness(
        { LLM_KEEP_WARM: 'false', LLM_MAX_CONCURRENCY: '2', LLM_MAX_QUEUE: '2', OLLAMA_TIMEOUT: '10' },
        { numParallel: 0, tokenDelayMs: 100 },
      );
      await harness.waitUntilReady();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('with concurrency 2 and queue 2, lets 2 reach Ollama at once and refuses the surplus of 10 at once', async () => {
      harness.emulator.resetStats();
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) => timed(() => harness.llm.chat(userMessage(`q${i} a b c`), CHAT))),
      );

      const served = outcomes.filter((outcome) => outcome.value !== undefined);
      const refused = outcomes.filter((outcome) => outcome.error !== undefined);
      expect(served).toHaveLength(4);
      expect(refused).toHaveLength(6);
      for (const { error, elapsedMs } of refused) {
        expect(error).toBeInstanceOf(ServiceUnavailableError);
        expect(error).toMatchObject({ reason: 'overloaded' });
        expect((error as ServiceUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
        expect(elapsedMs).toBeLessThan(200);
      }
      expect(harness.emulator.stats.maxConcurrentInference).toBe(2);
      expect(harness.emulator.stats.requests.chat).toBe(4);
      expect(Math.max(...served.map((outcome) => outcome.value!.timings.queueMs))).toBeGreaterThan(200);
      expect(await counterValue(harness.metrics, 'llm_requests_rejected_total', { reason: 'overloaded' })).toBe(6);
      await eventually(
        'slots free',
        () => harness.llm.status().inFlight === 0 && harness.llm.status().queueDepth === 0,
      );
    });

    it('aborts the upstream request when the signal of a streaming call aborts', async () => {
      harness.emulator.resetStats();
      const controller = new AbortController();
      const events = await harness.llm.stream(userMessage('a b c d e f g h i j k l m n o p'), {
        ...CHAT,
        signal: controller.signal,
      });
      const iterator = events[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.value).toMatchObject({ type: 'delta' });

      controller.abort();
      await eventually('emulator saw the abort', () => harness.emulator.stats.abortedStreams === 1, 5_000);
      await expect(drainIterator(iterator)).rejects.toThrow();
      await eventually('slot released', () => harness.llm.status().inFlight === 0, 5_000);
    });

    it('aborts the upstream request when the consumer leaves the loop early', async () => {
      harness.emulator.resetStats();
      const events = await harness.llm.stream(userMessage('a b c d e f g h i j k l m n o p'), CHAT);
      for await (const event of events) {
        expect(event.type).toBe('delta');
        break;
      }
      await eventually('emulator saw the abort', () => harness.emulator.stats.abortedStreams === 1, 5_000);
      await eventually('slot released', () => harness.llm.status().inFlight === 0, 5_000);
      expect(harness.llm.status().circuit).toBe('closed');
    });

    it('drains: refuses new calls with shutting_down and lets in-flight calls finish', async () => {
      const inFlight = harness.llm.chat(userMessage('finish me please'), CHAT);
      await eventually('call in flight', () => harness.emulator.stats.inFlight === 1, 5_000);

      const drained = harness.llm.drain(5_000);
      const { error } = await timed(() => harness.llm.chat(userMessage('too late'), CHAT));
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ reason: 'shutting_down' });

      await expect(inFlight).resolves.toMatchObject({ content: 'finish me please' });
      await drained;
      expect(harness.llm.drain(5_000)).toBe(drained);
    });
  });

  describe('shutdown', () => {
    let harness: LlmHarness;

    beforeAll(async () => {
      harness = await startHarness(
        { LLM_KEEP_WARM: 'false', LLM_MAX_CONCURRENCY: '1', LLM_MAX_QUEUE: '4', OLLAMA_TIMEOUT: '10' },
        { tokenDelayMs: 100 },
      );
      await harness.waitUntilReady();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('aborts the calls still running after the grace period and refuses the queued ones with shutting_down', async () => {
      harness.emulator.resetStats();
      const events = await harness.llm.stream(userMessage('a b c d e f g h i j k l m n o p q r s t'), CHAT);
      const streamed = drain(events);
      const queued = timed(() => harness.llm.chat(userMessage('queued'), CHAT));
      await eventually('one call queued', () => harness.llm.status().queueDepth === 1);

      const { elapsedMs } = await timed(() => harness.llm.drain(300));

      expect(elapsedMs).toBeLessThan(2_000);
      const { events: seen, error } = await streamed;
      expect(seen.filter((event) => event.type === 'delta').length).toBeGreaterThanOrEqual(1);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ reason: 'shutting_down' });
      expect((await queued).error).toMatchObject({ reason: 'shutting_down' });
      await eventually('emulator saw the abort', () => harness.emulator.stats.abortedStreams === 1, 5_000);
      expect(harness.llm.status()).toMatchObject({ inFlight: 0, queueDepth: 0 });
    });
  });

  describe('queue timeout', () => {
    let harness: LlmHarness;

    beforeAll(async () => {
      harness = await startHarness(
        { LLM_KEEP_WARM: 'false', LLM_MAX_CONCURRENCY: '1', LLM_MAX_QUEUE: '4', LLM_QUEUE_TIMEOUT: '0.3' },
        { tokenDelayMs: 150 },
      );
      await harness.waitUntilReady();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('refuses a request that waited longer than LLM_QUEUE_TIMEOUT for a slot with queue_timeout', async () => {
      const running = harness.llm.chat(userMessage('a b c d e f'), CHAT);
      await eventually('first call in flight', () => harness.llm.status().inFlight === 1);
      const { error, elapsedMs } = await timed(() => harness.llm.chat(userMessage('waiting'), CHAT));

      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ reason: 'queue_timeout' });
      expect(elapsedMs).toBeGreaterThanOrEqual(280);
      expect(elapsedMs).toBeLessThan(1_000);
      expect(harness.llm.status().queueDepth).toBe(0);
      await expect(running).resolves.toMatchObject({ content: 'a b c d e f' });
    });
  });
});

async function drainIterator(iterator: AsyncIterator<LlmStreamEvent>): Promise<void> {
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) {
      return;
    }
  }
}

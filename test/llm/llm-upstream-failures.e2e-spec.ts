import { BadGatewayError, ServiceUnavailableError, UpstreamTimeoutError } from '../../src/common/errors';
import { LlmService } from '../../src/llm/llm.service';
import type { LlmStreamEvent } from '../../src/llm/llm.types';
import { eventually } from '../support/eventually';
import { CHAT, LlmHarness, counterValue, drain, startHarness, timed, userMessage } from './harness';

describe(LlmService.name, () => {
  describe('circuit breaker', () => {
    let harness: LlmHarness;

    beforeAll(async () => {
      harness = await startHarness({
        LLM_KEEP_WARM: 'false',
        OLLAMA_MAX_RETRIES: '2',
        CIRCUIT_FAILURE_THRESHOLD: '2',
        CIRCUIT_RESET_TIMEOUT: '1',
      });
      await harness.waitUntilReady();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('retries upstream 500s at most OLLAMA_MAX_RETRIES times, opens the circuit, and closes it after a half-open success', async () => {
      harness.emulator.resetStats();
      harness.emulator.injectFault({ kind: 'http-error', status: 500, endpoints: ['chat'] });

      const first = await timed(() => harness.llm.chat(userMessage('a'), CHAT));
      expect(first.error).toBeInstanceOf(BadGatewayError);
      expect((first.error as Error).message).not.toContain('llama-server');
      expect(harness.emulator.stats.requests.chat).toBe(3);
      expect(harness.llm.status().circuit).toBe('closed');

      const second = await timed(() => harness.llm.chat(userMessage('b'), CHAT));
      expect(second.error).toBeInstanceOf(BadGatewayError);
      expect(harness.emulator.stats.requests.chat).toBe(6);
      expect(harness.llm.status().circuit).toBe('open');

      const refused = await timed(() => harness.llm.chat(userMessage('c'), CHAT));
      expect(refused.error).toBeInstanceOf(ServiceUnavailableError);
      expect(refused.error).toMatchObject({ reason: 'circuit_open', retryAfterSeconds: 1 });
      expect(refused.elapsedMs).toBeLessThan(100);
      expect(harness.emulator.stats.requests.chat).toBe(6);
      expect(await counterValue(harness.metrics, 'llm_requests_rejected_total', { reason: 'circuit_open' })).toBe(1);
      expect(await counterValue(harness.metrics, 'llm_circuit_state', {})).toBe(2);

      harness.emulator.clearFaults();
      await eventually('circuit half-open', () => harness.llm.status().circuit === 'half-open', 5_000);
      const trial = await harness.llm.chat(userMessage('trial'), CHAT);
      expect(trial.content).toBe('trial');
      expect(harness.emulator.stats.requests.chat).toBe(7);
      expect(harness.llm.status().circuit).toBe('closed');
      expect(await counterValue(harness.metrics, 'llm_circuit_state', {})).toBe(0);
    });
  });

  describe('upstream failures', () => {
    let harness: LlmHarness;

    beforeAll(async () => {
      harness = await startHarness({ LLM_KEEP_WARM: 'false', OLLAMA_MAX_RETRIES: '2', OLLAMA_TIMEOUT: '1' });
      await harness.waitUntilReady();
    });

    afterEach(() => {
      harness.emulator.clearFaults();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('retries a busy Ollama and succeeds when it frees up', async () => {
      harness.emulator.resetStats();
      harness.emulator.injectFault({ kind: 'busy', times: 2, endpoints: ['chat'] });
      const reply = await harness.llm.chat(userMessage('patience'), CHAT);
      expect(reply.content).toBe('patience');
      expect(harness.emulator.stats.requests.chat).toBe(3);
    });

    it('ends a hanging non-streamed call with UpstreamTimeoutError after OLLAMA_TIMEOUT, without retrying', async () => {
      harness.emulator.resetStats();
      harness.emulator.injectFault({ kind: 'hang', times: 1, endpoints: ['chat'] });
      const { error, elapsedMs } = await timed(() => harness.llm.chat(userMessage('hang'), CHAT));
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect(elapsedMs).toBeGreaterThanOrEqual(950);
      expect(elapsedMs).toBeLessThan(5_000);
      expect(harness.emulator.stats.requests.chat).toBe(1);
      await eventually('upstream request closed', () => harness.emulator.stats.inFlight === 0, 5_000);
    });

    it('rejects a stream whose upstream hangs before the first byte with UpstreamTimeoutError', async () => {
      harness.emulator.injectFault({ kind: 'hang', times: 1, endpoints: ['chat'] });
      const { error, elapsedMs } = await timed(() => harness.llm.stream(userMessage('hang'), CHAT));
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect(elapsedMs).toBeLessThan(5_000);
    });

    it('throws UpstreamTimeoutError from a stream that goes silent after its first chunk', async () => {
      harness.emulator.resetStats();
      harness.emulator.injectFault({ kind: 'hang-after-first-chunk', times: 1, endpoints: ['chat'] });
      const events = await harness.llm.stream(userMessage('one two three four'), CHAT);
      const { events: seen, error, elapsedMs } = await timedDrain(events);
      expect(seen.length).toBeGreaterThanOrEqual(1);
      expect(seen[0].type).toBe('delta');
      expect(seen.some((event) => event.type === 'done')).toBe(false);
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect(elapsedMs).toBeLessThan(5_000);
      await eventually('upstream request closed', () => harness.emulator.stats.inFlight === 0, 5_000);
    });

    it('throws BadGatewayError from a stream that reports an error midway, never hanging', async () => {
      harness.emulator.resetStats();
      harness.emulator.injectFault({
        kind: 'mid-stream-error',
        afterChunks: 2,
        message: 'an error was encountered while running the model',
        times: 1,
        endpoints: ['chat'],
      });
      const events = await harness.llm.stream(userMessage('one two three four five'), CHAT);
      const { events: seen, error } = await timedDrain(events);
      expect(seen.filter((event) => event.type === 'delta').length).toBeGreaterThanOrEqual(1);
      expect(error).toBeInstanceOf(BadGatewayError);
      expect((error as Error).message).not.toContain('encountered');
      // A failure after the first byte is never retried.
      expect(harness.emulator.stats.requests.chat).toBe(1);
    });

    it('retries a connection Ollama dropped before the first byte', async () => {
      harness.emulator.resetStats();
      harness.emulator.injectFault({ kind: 'drop-connection', times: 1, endpoints: ['chat'] });
      const reply = await harness.llm.chat(userMessage('again'), CHAT);
      expect(reply.content).toBe('again');
      expect(harness.emulator.stats.requests.chat).toBe(2);
    });
  });
});

async function timedDrain(
  events: AsyncIterable<LlmStreamEvent>,
): Promise<{ events: LlmStreamEvent[]; error?: unknown; elapsedMs: number }> {
  const started = performance.now();
  const result = await drain(events);
  return { ...result, elapsedMs: performance.now() - started };
}

import { setTimeout as delay } from 'node:timers/promises';
import { BadGatewayError, ServiceUnavailableError, UpstreamTimeoutError } from '../../src/common/errors';
import { LlmService } from '../../src/llm/llm.service';
import type { LlmStreamEvent } from '../../src/llm/llm.types';
import { eventually } from '../support/eventually';
import { LlmHarness, MODEL, counterValue, drain, startHarness, timed, userMessage } from './harness';

const CHAT = { endpoint: 'test' };

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

async function timedDrain(
  events: AsyncIterable<LlmStreamEvent>,
): Promise<{ events: LlmStreamEvent[]; error?: unknown; elapsedMs: number }> {
  const started = performance.now();
  const result = await drain(events);
  return { ...result, elapsedMs: performance.now() - started };
}

async function drainIterator(iterator: AsyncIterator<LlmStreamEvent>): Promise<void> {
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) {
      return;
    }
  }
}

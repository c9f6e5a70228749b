import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import { performance } from 'node:perf_hooks';
import { BadGatewayError, DomainError, ServiceUnavailableError, UpstreamTimeoutError } from '../common/errors';
import { AppConfig, appConfig, LlmConfig, llmConfig, OllamaConfig, ollamaConfig } from '../config/configuration';
import { LlmOutcome, MetricsService } from '../metrics/metrics.service';
import { OllamaEndpoint } from '../ollama-process/ollama-endpoint';
import { Bulkhead, BulkheadAbortedError, BulkheadRefusedError, ReleaseSlot } from './bulkhead';
import { LlmCallAbortedError } from './llm.errors';
import { LlmCallOptions, LlmChatRequest, LlmChatResult, LlmState, LlmStreamEvent } from './llm.types';
import { LOAD_OPTIONS, ModelLifecycle } from './model-lifecycle';
import { OllamaChatChunk, OllamaChatRequest } from './ollama-api.types';
import { OllamaClient } from './ollama-client';
import { OllamaClientError } from './ollama-client.errors';
import { OllamaHttpAgent } from './ollama-http-agent';
import { CircuitStatus, UpstreamPolicy } from './upstream-policy';

export interface LlmStatus {
  state: LlmState;
  model: string;
  reason?: string;
  pull?: { percent: number; status: string };
  warm: boolean;
  circuit: CircuitStatus;
  queueDepth: number;
  inFlight: number;
}

/** Delays of retried calls: ~100 ms, then doubling, with jitter. */
const RETRY_INITIAL_DELAY_MS = 100;
const RETRY_MAX_DELAY_MS = 2_000;
/** After the grace period, how long aborted calls get to wind down before shutdown moves on. */
const ABORT_SETTLE_MS = 2_000;
/** Retry-After, in seconds, for each state in which the model cannot serve. */
const RETRY_AFTER_SECONDS: Record<Exclude<LlmState, 'ready'>, number> = {
  starting: 5,
  loading: 5,
  pulling: 30,
  degraded: 10,
};
const CIRCUIT_GAUGE: Record<CircuitStatus, 0 | 1 | 2> = { closed: 0, 'half-open': 1, open: 2 };

/** Why a call's signal fired: its own client went away, or the service is shutting down. */
type AbortCause = 'client' | 'shutdown';

/** One admitted inference call: its abort signal, its slot, its timing. */
class InferenceCall {
  private readonly controller = new AbortController();
  private releaseSlot?: ReleaseSlot;
  private finished = false;
  private resolveEnded!: () => void;
  /** Settles when the call has finished, however it finished. */
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));
  abortedBy?: AbortCause;
  queueMs = 0;
  /** Tells the model lifecycle that this call has ended. */
  endUse?: () => void;

  constructor(
    readonly endpoint: string,
    /** `performance.now()` when the request arrived, before it waited for a slot. */
    readonly arrivedAt: number,
    private readonly clientSignal: AbortSignal | undefined,
    private readonly onFinish: (call: InferenceCall, outcome: LlmOutcome) => void,
  ) {
    if (clientSignal?.aborted) {
      this.abort('client');
    } else {
      clientSignal?.addEventListener('abort', this.onClientAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  hold(release: ReleaseSlot): void {
    this.releaseSlot = release;
    this.queueMs = performance.now() - this.arrivedAt;
  }

  abort(cause: AbortCause): void {
    if (!this.controller.signal.aborted) {
      this.abortedBy = cause;
      this.controller.abort(new Error(cause === 'client' ? 'the client went away' : 'the service is shutting down'));
    }
  }

  /** Gives the slot back and records the outcome; only the first call counts. */
  finish(outcome: LlmOutcome): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    this.clientSignal?.removeEventListener('abort', this.onClientAbort);
    this.releaseSlot?.();
    this.onFinish(this, outcome);
    this.resolveEnded();
  }

  private readonly onClientAbort = (): void => this.abort('client');
}

/** A promise with its settle functions; settling twice is a no-op. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function nsToMs(ns: number | undefined): number {
  return ns === undefined ? 0 : Math.round(ns / 1e4) / 100;
}

/**
 * The model as the rest of the service sees it: one warm, shared model behind admission control
 * (LLM_MAX_CONCURRENCY in flight, LLM_MAX_QUEUE waiting for at most LLM_QUEUE_TIMEOUT), a circuit
 * breaker (CIRCUIT_FAILURE_THRESHOLD, CIRCUIT_RESET_TIMEOUT) and retries of calls that failed before
 * anything reached the caller (OLLAMA_MAX_RETRIES). Every refusal is a `ServiceUnavailableError` with a
 * reason and a Retry-After; Ollama's own error texts stay in the log.
 */
@Injectable()
export class LlmService
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(LlmService.name);
  private readonly bulkhead: Bulkhead;
  private readonly policy: UpstreamPolicy;
  private readonly calls = new Set<InferenceCall>();
  private draining = false;
  private drained?: Promise<void>;
  private closed?: Promise<void>;

  constructor(
    private readonly client: OllamaClient,
    private readonly lifecycle: ModelLifecycle,
    private readonly endpoint: OllamaEndpoint,
    private readonly agent: OllamaHttpAgent,
    private readonly metrics: MetricsService,
    @Inject(ollamaConfig.KEY) private readonly ollama: OllamaConfig,
    @Inject(llmConfig.KEY) private readonly llm: LlmConfig,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
  ) {
    this.bulkhead = new Bulkhead(llm.maxConcurrency, llm.maxQueue, llm.queueTimeoutMs, () => {
      this.metrics.llmInFlight.set(this.bulkhead.inFlight);
      this.metrics.llmQueueDepth.set(this.bulkhead.queueDepth);
    });
    this.policy = new UpstreamPolicy({
      failureThreshold: llm.circuitFailureThreshold,
      resetTimeoutMs: llm.circuitResetTimeoutMs,
      maxRetries: ollama.maxRetries,
      retryInitialDelayMs: RETRY_INITIAL_DELAY_MS,
      retryMaxDelayMs: RETRY_MAX_DELAY_MS,
    });
    this.policy.onCircuitChange((circuit) => {
      this.metrics.llmCircuitState.set(CIRCUIT_GAUGE[circuit]);
      if (circuit === 'open') {
        this.logger.warn(
          `circuit open after ${llm.circuitFailureThreshold} consecutive upstream failures; ` +
            `requests fail fast for ${llm.circuitResetTimeoutMs} ms`,
        );
      } else {
        this.logger.log(`circuit ${circuit}`);
      }
    });
  }

  /** The configured model (OLLAMA_MODEL); every result names it. */
  get model(): string {
    return this.ollama.model;
  }

  /** Starts the model lifecycle in the background: it waits for Ollama, then pulls and warms up the model. */
  onModuleInit(): void {
    this.lifecycle.start();
  }

  /**
   * With LLM_WARMUP_BLOCKING, waits until the model is ready, so that the application listens only then;
   * otherwise readiness reports the warm-up. This waits here and not in `onModuleInit` because the
   * Ollama supervisor starts its server in its own bootstrap hook, which runs before this one.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.llm.warmupBlocking) {
      this.logger.log(`waiting for ${this.model} to be ready before listening (LLM_WARMUP_BLOCKING)`);
      await this.lifecycle.whenReady();
    }
  }

  /** Drains before the HTTP server closes, which would otherwise wait for open streams without a limit. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain(this.app.shutdownGracePeriodMs);
  }

  /** Drains (if nobody did), stops the lifecycle's timers and requests, and closes the connection pool. */
  onApplicationShutdown(): Promise<void> {
    this.closed ??= this.close();
    return this.closed;
  }

  /**
   * Non-streamed chat, bounded by OLLAMA_TIMEOUT.
   * @throws ServiceUnavailableError (503) when the model is not ready, the circuit is open, the service is
   *   overloaded, the request waited longer than LLM_QUEUE_TIMEOUT, the service is shutting down, or
   *   Ollama is unreachable; always with `retryAfterSeconds`.
   * @throws UpstreamTimeoutError (504) when Ollama did not answer within OLLAMA_TIMEOUT.
   * @throws BadGatewayError (502) when Ollama answered with an error or something unusable.
   * @throws LlmCallAbortedError when `options.signal` aborted the call.
   */
  async chat(request: LlmChatRequest, options: LlmCallOptions): Promise<LlmChatResult> {
    const call = await this.admit(options);
    const body = this.toOllamaRequest(request, false);
    try {
      const reply = await this.policy.guard(
        (signal) =>
          this.policy.withRetries(
            (attempt) => this.client.chat(body, { signal: attempt, timeoutMs: this.ollama.timeoutMs }),
            signal,
          ),
        call.signal,
      );
      const result = this.toResult(reply, call);
      call.finish('success');
      return { content: reply.message.content, ...result };
    } catch (error) {
      throw this.fail(error, call, false);
    }
  }

  /**
   * Streamed chat. The promise settles once the request was admitted and Ollama answered 200, so
   * failures before the first byte reject it (the errors of `chat`) and can still become a proper HTTP
   * status. The iterable then yields deltas and one `done`, and throws UpstreamTimeoutError (no chunk for
   * OLLAMA_TIMEOUT), BadGatewayError (Ollama failed midway) or ServiceUnavailableError `shutting_down`
   * (aborted at the end of the shutdown grace period). Breaking out of the loop, or aborting
   * `options.signal`, aborts the upstream request and so Ollama's generation.
   */
  async stream(request: LlmChatRequest, options: LlmCallOptions): Promise<AsyncIterable<LlmStreamEvent>> {
    const call = await this.admit(options);
    const body = this.toOllamaRequest(request, true);
    // The circuit breaker judges the whole stream, not only its start: it settles when the stream ends.
    const streamEnd = deferred<void>();
    streamEnd.promise.catch(() => undefined);
    let upstream: AsyncGenerator<OllamaChatChunk>;
    try {
      upstream = await new Promise<AsyncGenerator<OllamaChatChunk>>((resolve, reject) => {
        this.policy
          .guard(async (signal) => {
            const opened = await this.policy.withRetries(
              (attempt) => this.client.chatStream(body, { signal: attempt, idleTimeoutMs: this.ollama.timeoutMs }),
              signal,
            );
            resolve(opened);
            await streamEnd.promise;
          }, call.signal)
          // Once the stream is open this is a no-op: the iterator reports failures itself.
          .catch(reject);
      });
    } catch (error) {
      throw this.fail(error, call, false);
    }
    return this.relay(upstream, call, streamEnd);
  }

  /**
   * Stops admitting (new calls get 503 `shutting_down`, queued ones too), waits for in-flight calls up
   * to `gracePeriodMs`, then aborts the rest. Idempotent: later calls return the first drain.
   */
  drain(gracePeriodMs: number): Promise<void> {
    this.drained ??= this.runDrain(gracePeriodMs);
    return this.drained;
  }

  /** A snapshot for health checks and logs; makes no network call. */
  status(): LlmStatus {
    const model = this.lifecycle.status();
    return {
      state: model.state,
      model: this.model,
      ...(model.reason !== undefined && { reason: model.reason }),
      ...(model.pull !== undefined && { pull: model.pull }),
      warm: model.warm,
      circuit: this.policy.circuit,
      queueDepth: this.bulkhead.queueDepth,
      inFlight: this.bulkhead.inFlight,
    };
  }

  /** Why the circuit is open, in the words `/health/llm` reports. */
  circuitMessage(): string {
    return `circuit open after ${this.llm.circuitFailureThreshold} consecutive upstream failures`;
  }

  private async admit(options: LlmCallOptions): Promise<InferenceCall> {
    const arrivedAt = performance.now();
    const refusal = this.refusal();
    if (refusal !== undefined) {
      this.metrics.llmRequestsRejected.inc({ reason: refusal.reason });
      this.metrics.llmRequestDuration.observe(
        { endpoint: options.endpoint, outcome: 'rejected' },
        (performance.now() - arrivedAt) / 1000,
      );
      throw refusal;
    }
    const call = new InferenceCall(options.endpoint, arrivedAt, options.signal, (finished, outcome) =>
      this.onCallFinished(finished, outcome),
    );
    try {
      call.hold(await this.bulkhead.acquire(call.signal));
    } catch (error) {
      if (error instanceof BulkheadRefusedError) {
        throw this.refuse(
          new ServiceUnavailableError(
            this.refusalMessage(error.reason),
            error.reason,
            this.retryAfterSeconds(error.reason),
          ),
          call,
        );
      }
      throw this.fail(error instanceof BulkheadAbortedError ? new TaskCancelledError() : error, call, false);
    }
    // Things may have changed while the request waited for its slot.
    const late = this.refusal();
    if (late !== undefined) {
      throw this.refuse(late, call);
    }
    this.calls.add(call);
    call.endUse = this.lifecycle.beginUse();
    return call;
  }

  private refuse(error: ServiceUnavailableError, call: InferenceCall): ServiceUnavailableError {
    this.metrics.llmRequestsRejected.inc({ reason: error.reason });
    call.finish('rejected');
    return error;
  }

  /** Why a request must be refused right now without calling Ollama, if it must. */
  private refusal(): ServiceUnavailableError | undefined {
    if (this.draining) {
      return new ServiceUnavailableError(this.refusalMessage('shutting_down'), 'shutting_down', 5);
    }
    const { state } = this.lifecycle.status();
    if (state !== 'ready') {
      if (!this.endpoint.isUp()) {
        return new ServiceUnavailableError('Ollama is not answering; retry shortly', 'ollama_unreachable', 5);
      }
      const description = this.lifecycle.describe();
      const message =
        state === 'degraded' ? description : `${description}; retry ${state === 'pulling' ? 'later' : 'shortly'}`;
      return new ServiceUnavailableError(message, 'not_ready', RETRY_AFTER_SECONDS[state]);
    }
    if (this.policy.refusing()) {
      return this.circuitOpenError();
    }
    return undefined;
  }

  private circuitOpenError(): ServiceUnavailableError {
    const seconds = Math.max(1, Math.ceil(this.policy.openRemainingMs() / 1000));
    return new ServiceUnavailableError(`${this.circuitMessage()}; retry in ${seconds} s`, 'circuit_open', seconds);
  }

  private refusalMessage(reason: 'overloaded' | 'queue_timeout' | 'shutting_down'): string {
    switch (reason) {
      case 'overloaded':
        return `too many requests: ${this.llm.maxConcurrency} running and ${this.llm.maxQueue} waiting; retry shortly`;
      case 'queue_timeout':
        return `no model slot became free within ${this.llm.queueTimeoutMs / 1000} s (LLM_QUEUE_TIMEOUT); retry shortly`;
      case 'shutting_down':
        return 'the service is shutting down; retry on another instance';
    }
  }

  private retryAfterSeconds(reason: 'overloaded' | 'queue_timeout' | 'shutting_down'): number {
    switch (reason) {
      case 'overloaded':
        return 1;
      case 'queue_timeout':
        return 2;
      case 'shutting_down':
        return 5;
    }
  }

  private relay(
    upstream: AsyncGenerator<OllamaChatChunk>,
    call: InferenceCall,
    streamEnd: ReturnType<typeof deferred<void>>,
  ): AsyncIterable<LlmStreamEvent> {
    let phase: 'unclaimed' | 'claimed' | 'abandoned' = 'unclaimed';
    // A stream nobody reads (its caller failed before iterating) must not hold its slot for ever.
    const abandon = (): void => {
      if (phase !== 'unclaimed') {
        return;
      }
      phase = 'abandoned';
      clearTimeout(unclaimed);
      call.abort('client');
      void upstream.return(undefined);
      streamEnd.resolve();
      call.finish('aborted');
    };
    const unclaimed = setTimeout(abandon, this.ollama.timeoutMs);
    call.signal.addEventListener('abort', abandon, { once: true });

    const events = async function* (this: LlmService): AsyncGenerator<LlmStreamEvent> {
      if (phase === 'unclaimed') {
        phase = 'claimed';
        clearTimeout(unclaimed);
        call.signal.removeEventListener('abort', abandon);
      }
      if (phase === 'abandoned') {
        throw this.toDomainError(new TaskCancelledError(), call, true);
      }
      let outcome: LlmOutcome = 'aborted';
      let sawToken = false;
      try {
        for await (const chunk of upstream) {
          const text = chunk.message?.content ?? '';
          if (text !== '') {
            if (!sawToken) {
              sawToken = true;
              this.metrics.llmTimeToFirstToken.observe(
                { endpoint: call.endpoint },
                (performance.now() - call.arrivedAt) / 1000,
              );
            }
            yield { type: 'delta', text };
          }
          if (chunk.done) {
            const result = this.toResult(chunk, call);
            outcome = 'success';
            streamEnd.resolve();
            yield { type: 'done', result };
          }
        }
      } catch (error) {
        const mapped = this.toDomainError(error, call, true);
        outcome = this.outcomeOf(mapped);
        streamEnd.reject(error);
        throw mapped;
      } finally {
        // Also reached when the consumer leaves early, which is no failure of Ollama's.
        streamEnd.resolve();
        call.finish(outcome);
      }
    };
    return events.call(this);
  }

  private toOllamaRequest(request: LlmChatRequest, stream: boolean): OllamaChatRequest {
    const { temperature, top_p, num_predict, seed, stop } = request.options ?? {};
    const sampling = Object.fromEntries(
      Object.entries({ temperature, top_p, num_predict, seed, stop }).filter(([, value]) => value !== undefined),
    );
    return {
      model: this.model,
      messages: request.messages.map(({ role, content }) => ({ role, content })),
      stream,
      keep_alive: this.ollama.keepAlive.apiValue,
      // The load options come last so that nothing can make this request reload the model.
      options: { ...sampling, ...LOAD_OPTIONS },
      ...(request.format !== undefined && { format: request.format }),
    };
  }

  private toResult(reply: OllamaChatChunk, call: InferenceCall): Omit<LlmChatResult, 'content'> {
    const promptTokens = reply.prompt_eval_count ?? 0;
    const completionTokens = reply.eval_count ?? 0;
    this.metrics.llmTokens.inc({ type: 'prompt' }, promptTokens);
    this.metrics.llmTokens.inc({ type: 'completion' }, completionTokens);
    const evalNs = reply.eval_duration ?? 0;
    return {
      model: this.model,
      doneReason: reply.done_reason === 'length' ? 'length' : 'stop',
      usage: { promptTokens, completionTokens },
      timings: {
        totalMs: nsToMs(reply.total_duration),
        queueMs: Math.round(call.queueMs * 100) / 100,
        loadMs: nsToMs(reply.load_duration),
        promptEvalMs: nsToMs(reply.prompt_eval_duration),
        evalMs: nsToMs(evalNs),
        tokensPerSecond: evalNs > 0 ? Math.round((completionTokens / evalNs) * 1e9 * 100) / 100 : 0,
      },
    };
  }

  /** Maps a failure, records it and gives the call's slot back; returns what to throw. */
  private fail(error: unknown, call: InferenceCall, midStream: boolean): unknown {
    const mapped = this.toDomainError(error, call, midStream);
    if (mapped instanceof ServiceUnavailableError && mapped.reason === 'circuit_open') {
      // The circuit opened while this request waited: refused without calling Ollama after all.
      this.metrics.llmRequestsRejected.inc({ reason: mapped.reason });
    }
    call.finish(this.outcomeOf(mapped));
    return mapped;
  }

  private toDomainError(error: unknown, call: InferenceCall, midStream: boolean): unknown {
    if (call.abortedBy === 'shutdown') {
      return new ServiceUnavailableError(
        'the service is shutting down and ended this request; retry on another instance',
        'shutting_down',
        5,
      );
    }
    if (error instanceof DomainError) {
      return error;
    }
    if (
      call.abortedBy === 'client' ||
      error instanceof TaskCancelledError ||
      (error instanceof OllamaClientError && error.kind === 'aborted')
    ) {
      return new LlmCallAbortedError('the caller went away; the model call was aborted');
    }
    if (error instanceof BrokenCircuitError) {
      return this.circuitOpenError();
    }
    if (!(error instanceof OllamaClientError)) {
      return error;
    }
    const seconds = this.ollama.timeoutMs / 1000;
    switch (error.kind) {
      case 'timeout':
        return new UpstreamTimeoutError(
          midStream
            ? `the model sent nothing for ${seconds} s (OLLAMA_TIMEOUT); the answer is incomplete`
            : `the model did not answer within ${seconds} s (OLLAMA_TIMEOUT)`,
        );
      case 'unreachable':
        this.logger.warn({ err: { message: error.message, detail: error.detail } }, 'Ollama unreachable');
        return midStream
          ? new BadGatewayError('Ollama closed the connection in the middle of the answer; the answer is incomplete')
          : new ServiceUnavailableError('Ollama is unreachable; retry shortly', 'ollama_unreachable', 5);
      case 'busy':
        return new ServiceUnavailableError('the model server is busy; retry shortly', 'overloaded', 2);
      case 'model_not_found':
        this.lifecycle.reportModelMissing();
        return new ServiceUnavailableError(
          `model ${this.model} is missing in Ollama and is being restored; retry later`,
          'not_ready',
          RETRY_AFTER_SECONDS.loading,
        );
      case 'upstream':
      case 'protocol':
        // Ollama's own words go to the log only; the caller gets a summary.
        this.logger.warn(
          { err: { message: error.message, detail: error.detail, status: error.httpStatus }, endpoint: call.endpoint },
          'Ollama failed the request',
        );
        return new BadGatewayError(
          error.kind === 'protocol'
            ? 'the model server sent an answer that could not be used'
            : midStream
              ? 'the model server failed in the middle of the answer; the answer is incomplete'
              : `the model server failed to answer${error.httpStatus !== undefined ? ` (HTTP ${error.httpStatus})` : ''}`,
        );
      case 'aborted':
        return new LlmCallAbortedError('the caller went away; the model call was aborted');
    }
  }

  private outcomeOf(error: unknown): LlmOutcome {
    if (error instanceof LlmCallAbortedError) {
      return 'aborted';
    }
    if (error instanceof UpstreamTimeoutError) {
      return 'timeout';
    }
    if (error instanceof ServiceUnavailableError) {
      switch (error.reason) {
        case 'circuit_open':
          return 'rejected';
        case 'shutting_down':
          return 'aborted';
        case 'not_ready':
        case 'overloaded':
        case 'queue_timeout':
        case 'ollama_unreachable':
          return 'error';
      }
    }
    return 'error';
  }

  private onCallFinished(call: InferenceCall, outcome: LlmOutcome): void {
    this.calls.delete(call);
    call.endUse?.();
    this.metrics.llmRequestDuration.observe(
      { endpoint: call.endpoint, outcome },
      (performance.now() - call.arrivedAt) / 1000,
    );
  }

  private async runDrain(gracePeriodMs: number): Promise<void> {
    this.draining = true;
    this.bulkhead.close();
    if (this.calls.size === 0) {
      return;
    }
    this.logger.log(`draining: waiting up to ${gracePeriodMs} ms for ${this.calls.size} model calls`);
    const allEnded = (): Promise<void> => Promise.all([...this.calls].map((call) => call.ended)).then(() => undefined);
    if (await endsWithin(allEnded(), gracePeriodMs)) {
      return;
    }
    this.logger.warn(`aborting ${this.calls.size} model calls still running after the grace period`);
    for (const call of this.calls) {
      call.abort('shutdown');
    }
    await endsWithin(allEnded(), ABORT_SETTLE_MS);
  }

  private async close(): Promise<void> {
    await this.drain(this.app.shutdownGracePeriodMs);
    await this.lifecycle.stop();
    this.policy.dispose();
    this.agent.destroy();
  }
}

/** True when `promise` settled within `ms`; the timer never outlives the wait. */
async function endsWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

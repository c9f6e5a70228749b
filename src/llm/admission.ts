import { Logger } from '@nestjs/common';
import { TaskCancelledError } from 'cockatiel';
import { performance } from 'node:perf_hooks';
import { ServiceUnavailableError } from '../common/errors';
import type { LlmConfig } from '../config/configuration';
import type { LlmOutcome } from '../metrics/metrics.service';
import type { Backend } from './backends/backend';
import type { BackendPool } from './backends/backend-pool';
import { BulkheadAbortedError, BulkheadRefusal, BulkheadRefusedError } from './bulkhead';
import { InferenceCall } from './inference-call';
import type { CallMover } from './failover';
import type { InferenceMetrics } from './inference-metrics';
import type { LlmCallOptions, LlmState } from './llm.types';
import { outcomeOf, UpstreamErrors } from './upstream-errors';

/** After the grace period, how long aborted calls get to wind down before shutdown moves on. */
const ABORT_SETTLE_MS = 2_000;
/** Retry-After, in seconds, for each state in which a model cannot serve. */
const RETRY_AFTER_SECONDS: Record<Exclude<LlmState, 'ready'>, number> = {
  starting: 5,
  loading: 5,
  pulling: 30,
  degraded: 10,
};
const REFUSAL_RETRY_AFTER_SECONDS: Record<BulkheadRefusal, number> = {
  overloaded: 1,
  queue_timeout: 2,
  shutting_down: 5,
};

/**
 * Who may call a model now, and on which backend: refuses at once what cannot be served (not ready,
 * circuit open, Ollama down, shutting down), routes the rest, and makes each wait for a slot of its
 * (backend, model) bulkhead. It keeps every call in flight, and so owns the drain at shutdown.
 */
export class Admission implements CallMover {
  private readonly logger = new Logger('LlmService');
  private readonly calls = new Set<InferenceCall>();
  private draining = false;
  private drained?: Promise<void>;

  constructor(
    private readonly pool: BackendPool,
    private readonly metrics: InferenceMetrics,
    private readonly errors: UpstreamErrors,
    private readonly llm: LlmConfig,
  ) {}

  /**
   * Admits a call to `model` (a served model's configured name): picks a backend and waits for a slot.
   * @throws ServiceUnavailableError (503) as `Llm` documents; LlmCallAbortedError when the caller left.
   */
  async admit(model: string, options: LlmCallOptions): Promise<InferenceCall> {
    const arrivedAt = performance.now();
    const backend = this.draining ? undefined : this.pool.pick(model);
    if (backend === undefined) {
      const refusal = this.refusal(model);
      this.metrics.refused(options.endpoint, refusal.reason, arrivedAt);
      throw refusal;
    }
    const call = new InferenceCall(
      options.endpoint,
      model,
      backend,
      arrivedAt,
      options.signal,
      this.onFinished,
      options.requestId,
    );
    try {
      call.hold(await backend.bulkhead(model).acquire(call.signal));
    } catch (error) {
      if (error instanceof BulkheadRefusedError) {
        throw this.refuse(call, this.bulkheadRefusal(error.reason));
      }
      throw this.fail(error instanceof BulkheadAbortedError ? new TaskCancelledError() : error, call, false);
    }
    // Things may have changed while the request waited for its slot.
    if (this.draining || !backend.canServe(model)) {
      throw this.refuse(call, this.refusal(model, backend));
    }
    this.calls.add(call);
    call.begin();
    return call;
  }

  canMove(call: InferenceCall, tried: ReadonlySet<Backend>): boolean {
    return !this.draining && this.pool.pick(call.model, tried) !== undefined;
  }

  /** Moves `call` to the best other backend, waiting for a slot there as a new call would. */
  async move(call: InferenceCall, tried: ReadonlySet<Backend>): Promise<boolean> {
    const backend = this.draining ? undefined : this.pool.pick(call.model, tried);
    if (backend === undefined) {
      return false;
    }
    try {
      call.moveTo(backend, await backend.bulkhead(call.model).acquire(call.signal));
      return true;
    } catch {
      return false;
    }
  }

  /** Maps a failure of `call`, records it and gives its slot back; returns what to throw. */
  fail(error: unknown, call: InferenceCall, midStream: boolean): unknown {
    const mapped = this.errors.map(error, call, midStream);
    if (mapped instanceof ServiceUnavailableError && mapped.reason === 'circuit_open') {
      // The circuit opened while this request waited: refused without calling Ollama after all.
      this.metrics.rejected(mapped.reason);
    }
    call.finish(outcomeOf(mapped));
    return mapped;
  }

  /** See `Llm.drain`. */
  drain(gracePeriodMs: number): Promise<void> {
    this.drained ??= this.runDrain(gracePeriodMs);
    return this.drained;
  }

  /** Why a request for `model` must be refused now, in words the caller can act on. */
  private refusal(model: string, backend: Backend = this.pool.closest(model)): ServiceUnavailableError {
    if (this.draining) {
      return this.bulkheadRefusal('shutting_down');
    }
    const lifecycle = backend.lifecycle(model);
    const { state } = lifecycle.status();
    if (state !== 'ready') {
      if (!backend.endpoint.isUp()) {
        return new ServiceUnavailableError('Ollama is not answering; retry shortly', 'ollama_unreachable', 5);
      }
      const description = lifecycle.describe();
      const message =
        state === 'degraded' ? description : `${description}; retry ${state === 'pulling' ? 'later' : 'shortly'}`;
      return new ServiceUnavailableError(message, 'not_ready', RETRY_AFTER_SECONDS[state]);
    }
    if (!backend.endpoint.isUp()) {
      return new ServiceUnavailableError('Ollama is not answering; retry shortly', 'ollama_unreachable', 5);
    }
    return this.errors.circuitOpen(backend);
  }

  private bulkheadRefusal(reason: BulkheadRefusal): ServiceUnavailableError {
    return new ServiceUnavailableError(this.refusalMessage(reason), reason, REFUSAL_RETRY_AFTER_SECONDS[reason]);
  }

  private refusalMessage(reason: BulkheadRefusal): string {
    switch (reason) {
      case 'overloaded':
        return `too many requests: ${this.llm.maxConcurrency} running and ${this.llm.maxQueue} waiting; retry shortly`;
      case 'queue_timeout':
        return `no model slot became free within ${this.llm.queueTimeoutMs / 1000} s (LLM_QUEUE_TIMEOUT); retry shortly`;
      case 'shutting_down':
        return 'the service is shutting down; retry on another instance';
    }
  }

  private refuse(call: InferenceCall, error: ServiceUnavailableError): ServiceUnavailableError {
    this.metrics.rejected(error.reason);
    call.finish('rejected');
    return error;
  }

  private readonly onFinished = (call: InferenceCall, outcome: LlmOutcome): void => {
    this.calls.delete(call);
    this.metrics.finished(call, outcome);
  };

  private async runDrain(gracePeriodMs: number): Promise<void> {
    this.draining = true;
    this.pool.closeAdmission();
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

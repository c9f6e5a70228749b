import { backoffDelayMs, BackoffSettings } from '../common/backoff';
import { sleep } from '../common/abortable-sleep';
import type { Backend } from './backends/backend';
import type { InferenceCall } from './inference-call';
import { isOllamaFailure } from './ollama/ollama-client.errors';
import { isRetryable, MovedToAnotherBackend } from './upstream-policy';

export interface FailoverSettings {
  /** Retries of a call that failed before anything reached the client (OLLAMA_MAX_RETRIES). */
  maxRetries: number;
  /** Delays between retries on one backend: exponential, with jitter. */
  backoff: BackoffSettings;
}

/** Where a call may go next: a backend that can serve its model now, other than those it tried. */
export interface CallMover {
  /** Whether another backend could take `call` now. */
  canMove(call: InferenceCall, tried: ReadonlySet<Backend>): boolean;
  /** Moves `call` (slot included) to another backend; false when none can take it now. */
  move(call: InferenceCall, tried: ReadonlySet<Backend>): Promise<boolean>;
}

/**
 * Runs one inference call to the end of its attempts: on the call's backend, under that backend's
 * circuit breaker; a failure before anything reached the caller (refused, reset, busy, 5xx) is tried
 * again, on another backend when one can serve the model (at once), else on the same one after a
 * backoff, at most `maxRetries` times in all. Each backend's breaker counts the attempts made on it as
 * one call.
 */
export class Failover {
  constructor(
    private readonly mover: CallMover,
    private readonly settings: FailoverSettings,
  ) {}

  /**
   * Resolves with the first successful attempt's value. For a stream, pass `held`: the breaker's verdict
   * then waits until `held(value)` settles (the stream's end), so that a stream failing midway counts
   * too, while the caller already has the value.
   * @throws BrokenCircuitError when the backend's circuit is open; otherwise what the last attempt threw.
   */
  async run<T>(
    call: InferenceCall,
    attempt: (backend: Backend, signal: AbortSignal) => Promise<T>,
    held?: (value: T) => Promise<void>,
  ): Promise<T> {
    const tried = new Set<Backend>();
    const budget = { retriesLeft: this.settings.maxRetries, delays: 0 };
    for (;;) {
      tried.add(call.backend);
      try {
        return await this.onBackend(call, tried, budget, attempt, held);
      } catch (error) {
        if (!(error instanceof MovedToAnotherBackend)) {
          throw error;
        }
        if (!(await this.mover.move(call, tried))) {
          throw error.failure;
        }
      }
    }
  }

  private onBackend<T>(
    call: InferenceCall,
    tried: ReadonlySet<Backend>,
    budget: { retriesLeft: number; delays: number },
    attempt: (backend: Backend, signal: AbortSignal) => Promise<T>,
    held: ((value: T) => Promise<void>) | undefined,
  ): Promise<T> {
    const backend = call.backend;
    return new Promise<T>((resolve, reject) => {
      backend.policy
        .guard(async (signal) => {
          for (;;) {
            let value: T;
            try {
              value = await attempt(backend, signal);
            } catch (error) {
              if (!isRetryable(error) || budget.retriesLeft === 0) {
                throw error;
              }
              budget.retriesLeft--;
              if (isOllamaFailure(error, 'unreachable')) {
                backend.markUnreachable();
              }
              if (this.mover.canMove(call, tried)) {
                throw new MovedToAnotherBackend(error);
              }
              await sleep(backoffDelayMs(this.settings.backoff, budget.delays++), signal);
              continue;
            }
            if (held !== undefined) {
              // The caller gets the stream now; the breaker's verdict waits for its end.
              resolve(value);
              await held(value);
            }
            return value;
          }
        }, call.signal)
        // For a stream this settles after `resolve`, and is then a no-op: the stream reports its failures.
        .then(resolve, reject);
    });
  }
}

import {
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  RetryPolicy,
  circuitBreaker,
  handleWhen,
  retry,
} from 'cockatiel';
import { retryBackoff } from '../common/backoff';
import { OllamaClientError } from './ollama/ollama-client.errors';

export type CircuitStatus = 'closed' | 'half-open' | 'open';

export interface UpstreamPolicySettings {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** Milliseconds the circuit stays open before it lets one trial call through. */
  resetTimeoutMs: number;
  /** Retries of a call that failed before anything reached the client. */
  maxRetries: number;
  /** Milliseconds before the first retry; later ones grow exponentially, with jitter. */
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  random?: () => number;
}

/**
 * Failures that say something about Ollama's health. Not counted: the caller's own abort, a request
 * Ollama refused as malformed (4xx), and a missing model, which the model lifecycle repairs.
 */
export function isUpstreamFailure(error: unknown): boolean {
  if (!(error instanceof OllamaClientError)) {
    return false;
  }
  switch (error.kind) {
    case 'busy':
    case 'protocol':
    case 'timeout':
    case 'unreachable':
      return true;
    case 'upstream':
      return error.httpStatus === undefined || error.httpStatus >= 500;
    case 'model_not_found':
    case 'aborted':
      return false;
  }
}

/**
 * Failures worth another attempt because nothing was generated yet: no connection, a dropped one,
 * Ollama busy, or a 5xx status. A timeout is not retried: the caller already waited the full time.
 */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof OllamaClientError)) {
    return false;
  }
  switch (error.kind) {
    case 'busy':
    case 'unreachable':
      return true;
    case 'upstream':
      return error.httpStatus !== undefined && error.httpStatus >= 500;
    case 'protocol':
    case 'timeout':
    case 'model_not_found':
    case 'aborted':
      return false;
  }
}

/**
 * The circuit breaker and retries in front of Ollama (cockatiel). The breaker counts whole calls, each
 * after its retries, so `failureThreshold` means that many requests failed in a row. While the circuit
 * is open, and while its one trial call runs, `refusing()` is true and the caller must not call Ollama.
 */
export class UpstreamPolicy {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retries: RetryPolicy;
  private openedAt = 0;
  private readonly listeners: Array<(status: CircuitStatus) => void> = [];
  private halfOpenTimer?: NodeJS.Timeout;

  constructor(private readonly settings: UpstreamPolicySettings) {
    this.breaker = circuitBreaker(handleWhen(isUpstreamFailure), {
      halfOpenAfter: settings.resetTimeoutMs,
      breaker: new ConsecutiveBreaker(settings.failureThreshold),
    });
    this.retries = retry(handleWhen(isRetryable), {
      maxAttempts: settings.maxRetries,
      backoff: retryBackoff({
        initialMs: settings.retryInitialDelayMs,
        maxMs: settings.retryMaxDelayMs,
        random: settings.random,
      }),
    });
    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
      // Nothing else moves an idle open circuit on; without this, the state would read `open` until a
      // request came, and a readiness probe that keeps traffic away would keep it open for ever.
      clearTimeout(this.halfOpenTimer);
      this.halfOpenTimer = setTimeout(() => this.emit(), settings.resetTimeoutMs);
      this.halfOpenTimer.unref();
    });
    this.breaker.onStateChange(() => this.emit());
  }

  /**
   * `open` until `resetTimeoutMs` after the last failure; then `half-open`: the next call is the trial
   * (and stays `half-open` while it runs); `closed` again after the trial succeeds.
   */
  get circuit(): CircuitStatus {
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      case CircuitState.Open:
      case CircuitState.Isolated:
        return this.openRemainingMs() > 0 ? 'open' : 'half-open';
    }
  }

  /** True while calls must fail fast: the circuit is open, or its trial call is running. */
  refusing(): boolean {
    return this.openRemainingMs() > 0 || this.breaker.state === CircuitState.HalfOpen;
  }

  /** Milliseconds until the circuit lets a trial call through; 0 when it is not open. */
  openRemainingMs(): number {
    if (this.breaker.state !== CircuitState.Open) {
      return 0;
    }
    return Math.max(0, this.openedAt + this.settings.resetTimeoutMs - Date.now());
  }

  /** Calls `listener` on every change of `circuit`. */
  onCircuitChange(listener: (status: CircuitStatus) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Runs one whole call under the circuit breaker; its outcome is counted when `call` settles.
   * @throws BrokenCircuitError (cockatiel) when the circuit is open; otherwise what `call` throws.
   */
  guard<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    return this.breaker.execute(({ signal: inner }) => call(inner), signal);
  }

  /** Runs `attempt` again after retryable failures, at most `maxRetries` more times, with backoff. */
  withRetries<T>(attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    return this.retries.execute(({ signal: inner }) => attempt(inner), signal);
  }

  /**
   * One whole upstream call: `attempt` again after retryable failures, all under the circuit breaker,
   * which counts the call once. Resolves with the first successful attempt's value. For a stream, pass
   * `held`: the breaker's verdict then waits until `held(value)` settles (the stream's end), so a stream
   * that fails midway counts as a failure too.
   * @throws BrokenCircuitError (cockatiel) when the circuit is open; otherwise what the last attempt threw.
   */
  execute<T>(
    attempt: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    held?: (value: T) => Promise<void>,
  ): Promise<T> {
    if (held === undefined) {
      return this.guard((inner) => this.withRetries(attempt, inner), signal);
    }
    return new Promise<T>((resolve, reject) => {
      this.guard(async (inner) => {
        const value = await this.withRetries(attempt, inner);
        resolve(value);
        await held(value);
      }, signal)
        // Once `value` resolved the promise this is a no-op: a stream reports its own failures.
        .catch(reject);
    });
  }

  /**
   * Lets traffic through again at once, without waiting out the reset timeout: for a server that was
   * restarted and passed its warm-up, whose earlier failures say nothing about it now. The failure count
   * stays, so the first call is a trial: one more failure opens the circuit again.
   * @returns whether the circuit was open.
   */
  giveTrial(): boolean {
    if (this.breaker.state !== CircuitState.Open) {
      return false;
    }
    this.breaker.isolate().dispose();
    clearTimeout(this.halfOpenTimer);
    return true;
  }

  /** Stops the timer; safe to call twice. */
  dispose(): void {
    clearTimeout(this.halfOpenTimer);
  }

  private emit(): void {
    const status = this.circuit;
    for (const listener of this.listeners) {
      listener(status);
    }
  }
}

import { CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { OllamaClientError } from './ollama/ollama-client.errors';

export type CircuitStatus = 'closed' | 'half-open' | 'open';

export interface UpstreamPolicySettings {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** Milliseconds the circuit stays open before it lets one trial call through. */
  resetTimeoutMs: number;
}

/**
 * Leaves one backend's breaker for another backend: the call failed there (`cause`) and goes on
 * elsewhere. The breaker counts the cause.
 */
export class MovedToAnotherBackend extends Error {
  constructor(readonly failure: unknown) {
    super('the call goes on on another backend');
    this.name = 'MovedToAnotherBackend';
  }
}

/**
 * Failures that say something about Ollama's health. Not counted: the caller's own abort, a request
 * Ollama refused as malformed (4xx), and a missing model, which the model lifecycle repairs.
 */
export function isUpstreamFailure(error: unknown): boolean {
  if (error instanceof MovedToAnotherBackend) {
    return isUpstreamFailure(error.failure);
  }
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
 * The circuit breaker in front of one Ollama server (cockatiel). It counts whole calls, each after the
 * retries made on this server (`Failover`), so `failureThreshold` means that many requests failed in a
 * row. While the circuit is open, and while its one trial call runs, `refusing()` is true and the caller
 * must not call this server.
 */
export class UpstreamPolicy {
  private readonly breaker: CircuitBreakerPolicy;
  private openedAt = 0;
  private readonly listeners: Array<(status: CircuitStatus) => void> = [];
  private halfOpenTimer?: NodeJS.Timeout;

  constructor(private readonly settings: UpstreamPolicySettings) {
    this.breaker = circuitBreaker(handleWhen(isUpstreamFailure), {
      halfOpenAfter: settings.resetTimeoutMs,
      breaker: new ConsecutiveBreaker(settings.failureThreshold),
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

import type { IBackoff, IBackoffFactory } from 'cockatiel';

export interface BackoffSettings {
  /** Milliseconds before the first retry (before jitter). */
  initialMs: number;
  /** Upper bound of any delay, in milliseconds. */
  maxMs: number;
  /**
   * True (the default): "equal jitter", each delay somewhere between half and all of its ceiling.
   * False: the ceilings themselves (1 s, 2 s, 4 s, ...), a series an operator can read off the log and
   * the contract can promise, for a loop that has nobody to collide with.
   */
  jitter?: boolean;
  /** A number in [0, 1); replaceable so that tests can pin the jitter. */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): exponential, capped, with "equal
 * jitter" unless `jitter` is false, i.e. somewhere between half and all of
 * `min(maxMs, initialMs · 2^attempt)`. The jitter keeps many clients that failed together from coming
 * back together; the floor keeps the growth.
 */
export function backoffDelayMs(settings: BackoffSettings, attempt: number): number {
  const ceiling = ceilingMs(settings, attempt);
  if (settings.jitter === false) {
    return ceiling;
  }
  const random = settings.random ?? Math.random;
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** A running series of backoff delays, for loops that retry until something works. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly settings: BackoffSettings) {}

  /** The delay to wait now; each call grows the next one, up to the maximum. */
  next(): number {
    const delay = backoffDelayMs(this.settings, this.attempt);
    // Once at the maximum the count stops: a loop that retries for days never overflows the exponent.
    if (ceilingMs(this.settings, this.attempt) < this.settings.maxMs) {
      this.attempt += 1;
    }
    return delay;
  }

  /** After a success, the next failure starts again from the initial delay. */
  reset(): void {
    this.attempt = 0;
  }
}

/** The same delays as a cockatiel backoff, for its retry policy. */
export function retryBackoff(settings: BackoffSettings): IBackoffFactory<unknown> {
  const step = (attempt: number): IBackoff<unknown> => ({
    duration: backoffDelayMs(settings, attempt),
    next: () => step(attempt + 1),
  });
  return { next: () => step(0) };
}

function ceilingMs(settings: BackoffSettings, attempt: number): number {
  return Math.min(settings.maxMs, settings.initialMs * 2 ** attempt);
}

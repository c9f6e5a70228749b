/**
 * Exponential backoff: 1 s, 2 s, 4 s, ... up to 30 s by default. The caller resets it once what it
 * retries has worked for a while, so that one crash after hours of uptime is retried after 1 s again.
 */
export class Backoff {
  private attempts = 0;

  constructor(
    private readonly initialMs = 1_000,
    private readonly maxMs = 30_000,
  ) {}

  /** The delay before the next attempt; each call doubles the following one, up to the maximum. */
  next(): number {
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.attempts);
    if (delay < this.maxMs) {
      this.attempts += 1;
    }
    return delay;
  }

  reset(): void {
    this.attempts = 0;
  }
}

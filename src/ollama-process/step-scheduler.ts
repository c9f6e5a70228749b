/**
 * Runs a supervisor's steps one at a time on a timer. Scheduling a step replaces the one pending, and
 * every scheduling or cancelling starts a new turn, so that a step overtaken while it awaited something
 * sees with {@link isCurrent} that it must do nothing more. Every running step is kept for
 * {@link close} to wait on.
 */
export class StepScheduler {
  private timer?: NodeJS.Timeout;
  private turn = 0;
  private closed = false;
  private readonly running = new Set<Promise<void>>();

  /**
   * @param onFailure called with whatever a step throws (a bug: steps handle their own failures);
   *   the scheduler itself goes on.
   */
  constructor(private readonly onFailure: (error: unknown) => void) {}

  /** Runs `step` after `delayMs`, instead of the step pending; does nothing once closed. */
  schedule(step: (turn: number) => Promise<void>, delayMs: number): void {
    if (this.closed) {
      return;
    }
    clearTimeout(this.timer);
    const turn = ++this.turn;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.track(step(turn));
    }, delayMs);
  }

  /** Drops the pending step, and makes the running one's turn stale. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.turn += 1;
  }

  /** True while `turn` is the latest and the scheduler is open. */
  isCurrent(turn: number): boolean {
    return turn === this.turn && !this.closed;
  }

  /** Keeps `work` (started outside a scheduled step, e.g. on a process exit) for {@link close} to wait on. */
  track(work: Promise<void>): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => this.onFailure(error))
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Schedules nothing more and cancels the pending step. Safe to call more than once. */
  close(): void {
    this.closed = true;
    this.cancel();
  }

  /** Resolves once every step running now has finished. */
  async drain(): Promise<void> {
    await Promise.all([...this.running]);
  }
}

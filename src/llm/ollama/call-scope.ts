/**
 * The abort signal of one upstream call: it fires when the caller's signal aborts, when the call's
 * timer runs out, or when the call is ended on purpose. Afterwards `timedOut` and `callerAborted`
 * tell which one it was, so a destroyed socket can be reported for what it really means.
 *
 * The timer is a deadline when armed once, or an inactivity limit when re-armed on every chunk.
 */
export class CallScope {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private timedOutFlag = false;

  constructor(
    private readonly caller: AbortSignal | undefined,
    /** Milliseconds; `Infinity` for no limit. */
    readonly timeoutMs: number,
  ) {
    if (caller?.aborted) {
      this.controller.abort(caller.reason);
    } else {
      caller?.addEventListener('abort', this.onCallerAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get timedOut(): boolean {
    return this.timedOutFlag;
  }

  get callerAborted(): boolean {
    return !this.timedOutFlag && this.caller?.aborted === true;
  }

  /** Starts (or restarts) the timer. */
  arm(): void {
    this.disarm();
    if (Number.isFinite(this.timeoutMs) && !this.controller.signal.aborted) {
      this.timer = setTimeout(() => {
        this.timedOutFlag = true;
        this.controller.abort(new Error(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    }
  }

  disarm(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Aborts the call (closing its connection) and releases the timer and listener. Safe to call twice. */
  end(): void {
    this.disarm();
    this.caller?.removeEventListener('abort', this.onCallerAbort);
    if (!this.controller.signal.aborted) {
      this.controller.abort(new Error('call ended'));
    }
  }

  private readonly onCallerAbort = (): void => {
    this.disarm();
    this.controller.abort(this.caller?.reason);
  };
}

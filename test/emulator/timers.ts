/**
 * Timers owned by one emulator, so `stop()` can cancel every one of them. All are unref'd: a
 * forgotten emulator must not keep a test process alive.
 */

/** Thrown into a handler when its client went away (or the emulator stopped). */
export class RequestAbortedError extends Error {
  constructor(reason = 'client closed the connection') {
    super(reason);
    this.name = 'RequestAbortedError';
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new RequestAbortedError();
}

export class TimerSet {
  private readonly timers = new Map<NodeJS.Timeout, (() => void) | undefined>();

  /** Runs `fn` after `ms`. */
  set(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        fn();
      },
      Math.max(0, ms),
    );
    timer.unref();
    this.timers.set(timer, undefined);
    return timer;
  }

  clear(timer: NodeJS.Timeout | undefined): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
  }

  /** Resolves after `ms`; rejects as soon as `signal` aborts or the set is cleared. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        this.clear(timer);
        reject(abortReason(signal));
      };
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      timer.unref();
      this.timers.set(timer, () => {
        signal.removeEventListener('abort', onAbort);
        reject(new RequestAbortedError('emulator stopped'));
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  clearAll(): void {
    for (const [timer, cancel] of [...this.timers]) {
      clearTimeout(timer);
      this.timers.delete(timer);
      cancel?.();
    }
  }
}

/** Resolves never; rejects when `signal` aborts. Used to hold a request open. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
  });
}

/** A condition variable: waiters re-check their condition after every `notifyAll`. */
export class Condition {
  private readonly waiters = new Set<() => void>();

  wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      const wake = (): void => {
        this.waiters.delete(wake);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.waiters.delete(wake);
        reject(abortReason(signal));
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  notifyAll(): void {
    for (const wake of [...this.waiters]) {
      wake();
    }
  }
}

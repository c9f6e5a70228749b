/** The longest delay `setTimeout` keeps; a longer one fires at once (with a warning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms` (never, when `ms` is `Infinity`), or rejects with `signal.reason` as soon as it
 * aborts, at once when it already has (`abort()` without a reason gives a `DOMException` `AbortError`).
 * Either way no timer and no listener is left behind, so a loop that sleeps between checks for days
 * keeps nothing alive.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    // Waits of more than about 24.8 days are slept in pieces the timer can hold.
    const wait = (remainingMs: number): void => {
      timer = setTimeout(
        () => {
          if (remainingMs > MAX_TIMER_MS) {
            wait(remainingMs - MAX_TIMER_MS);
            return;
          }
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.min(Math.max(remainingMs, 0), MAX_TIMER_MS),
      );
    };
    if (Number.isFinite(ms)) {
      wait(ms);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

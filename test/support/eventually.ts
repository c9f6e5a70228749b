/** Polling for a condition that becomes true some time later (a log line, a counter, a process state). */

export interface EventuallyOptions {
  /** How long to keep trying before failing; default 20 s. */
  timeoutMs?: number;
  /** Pause between two checks; default 25 ms. */
  intervalMs?: number;
}

/** What a check may return: a value (truthy means done) or a promise of one. */
export type Check<T> = () => T | Promise<T>;

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_INTERVAL_MS = 25;

function settings(timeout: number | EventuallyOptions | undefined): Required<EventuallyOptions> {
  if (typeof timeout === 'number') {
    return { timeoutMs: timeout, intervalMs: DEFAULT_INTERVAL_MS };
  }
  return {
    timeoutMs: timeout?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    intervalMs: timeout?.intervalMs ?? DEFAULT_INTERVAL_MS,
  };
}

function describeLast(value: unknown): string {
  if (value === undefined || value === null || value === false) {
    return '';
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // a cyclic value: its type is all that can be said
  }
  return `; last value: ${text ?? typeof value}`;
}

/**
 * Runs `check` until it returns a truthy value and resolves with that value. Fails with
 * `timed out after N ms waiting for <what>` once the timeout has passed. An error thrown by the check
 * is not retried: it rejects at once, so a check can give up early (for example when a process died).
 *
 * The description comes first (`eventually('the model to load', () => …, 5_000)`); the forms with the
 * check first (`eventually(() => …, 'the model to load', 5_000)` and `eventually(() => …, 5_000)`) are
 * accepted too. The timeout may be a number of milliseconds or `{ timeoutMs, intervalMs }`.
 */
export async function eventually<T>(
  what: string,
  check: Check<T>,
  timeout?: number | EventuallyOptions,
): Promise<NonNullable<T>>;
export async function eventually<T>(
  check: Check<T>,
  what?: string,
  timeout?: number | EventuallyOptions,
): Promise<NonNullable<T>>;
export async function eventually<T>(check: Check<T>, timeout?: number | EventuallyOptions): Promise<NonNullable<T>>;
export async function eventually<T>(
  first: string | Check<T>,
  second?: string | number | EventuallyOptions | Check<T>,
  third?: number | EventuallyOptions,
): Promise<NonNullable<T>> {
  let what = 'a condition';
  let check: Check<T>;
  let timeout: number | EventuallyOptions | undefined;
  if (typeof first === 'string') {
    if (typeof second !== 'function') {
      throw new TypeError('eventually(what, check, timeout): the check must be a function');
    }
    what = first;
    check = second;
    timeout = third;
  } else {
    check = first;
    if (typeof second === 'string') {
      what = second;
      timeout = third;
    } else if (typeof second !== 'function') {
      timeout = second;
    }
  }
  const { timeoutMs, intervalMs } = settings(timeout);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describeLast(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

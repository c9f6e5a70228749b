import { getEventListeners } from 'node:events';
import { sleep } from './abortable-sleep';

describe('sleep', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  /** Settles `promise` into a readable outcome without letting a rejection go unhandled. */
  function watch(promise: Promise<void>): { outcome: () => string } {
    let outcome = 'pending';
    promise.then(
      () => (outcome = 'resolved'),
      (error: unknown) => (outcome = `rejected: ${(error as Error).message}`),
    );
    return { outcome: () => outcome };
  }

  it('resolves after the delay, not before, and leaves no timer or listener', async () => {
    const controller = new AbortController();
    const sleeping = watch(sleep(1_000, controller.signal));

    await jest.advanceTimersByTimeAsync(999);
    expect(sleeping.outcome()).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);

    expect(sleeping.outcome()).toBe('resolved');
    expect(jest.getTimerCount()).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('works without a signal', async () => {
    const sleeping = watch(sleep(50));
    await jest.advanceTimersByTimeAsync(50);
    expect(sleeping.outcome()).toBe('resolved');
  });

  it('rejects with the reason as soon as the signal aborts, and leaves no timer or listener', async () => {
    const controller = new AbortController();
    const sleeping = watch(sleep(60_000, controller.signal));
    await jest.advanceTimersByTimeAsync(10);

    controller.abort(new Error('shutting down'));
    await jest.advanceTimersByTimeAsync(0);

    expect(sleeping.outcome()).toBe('rejected: shutting down');
    expect(jest.getTimerCount()).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects at once, starting no timer, when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();

    await expect(sleep(1_000, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(jest.getTimerCount()).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('waits for ever on Infinity, with no timer, until the signal aborts', async () => {
    const controller = new AbortController();
    const sleeping = watch(sleep(Infinity, controller.signal));

    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(365 * 24 * 3_600_000);
    expect(sleeping.outcome()).toBe('pending');

    controller.abort(new Error('stop'));
    await jest.advanceTimersByTimeAsync(0);
    expect(sleeping.outcome()).toBe('rejected: stop');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('sleeps the whole of a delay longer than a timer can hold', async () => {
    const thirtyDays = 30 * 24 * 3_600_000;
    const sleeping = watch(sleep(thirtyDays));

    await jest.advanceTimersByTimeAsync(thirtyDays - 1);
    expect(sleeping.outcome()).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(sleeping.outcome()).toBe('resolved');
  });

  it('resolves on the next turn for a zero or negative delay', async () => {
    const sleeping = watch(sleep(-5));
    await jest.advanceTimersByTimeAsync(0);
    expect(sleeping.outcome()).toBe('resolved');
  });
});

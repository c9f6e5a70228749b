import { Backoff, backoffDelayMs, retryBackoff } from './backoff';

const settings = { initialMs: 100, maxMs: 1_000 };
/** The series the Ollama supervisor restarts with (CONTRACT §4). */
const restarts = { initialMs: 1_000, maxMs: 30_000, jitter: false };

describe('backoffDelayMs', () => {
  it('doubles the ceiling with every attempt until the maximum', () => {
    const ceilings = [0, 1, 2, 3, 4, 5].map((attempt) => backoffDelayMs({ ...settings, random: () => 1 }, attempt));
    expect(ceilings).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('never waits less than half the ceiling, whatever the jitter', () => {
    const floors = [0, 1, 2, 3, 4].map((attempt) => backoffDelayMs({ ...settings, random: () => 0 }, attempt));
    expect(floors).toEqual([50, 100, 200, 400, 500]);
  });

  it('spreads delays between half and all of the ceiling', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelayMs(settings, 2));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });

  it('waits exactly the ceiling without jitter, whatever the random source says', () => {
    const delays = [0, 1, 2, 3, 4].map((attempt) =>
      backoffDelayMs({ ...settings, jitter: false, random: () => 0 }, attempt),
    );
    expect(delays).toEqual([100, 200, 400, 800, 1_000]);
  });
});

describe(Backoff.name, () => {
  it('grows with each failure and starts over after reset', () => {
    const backoff = new Backoff({ ...settings, random: () => 1 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it('doubles from 1 s and stays at 30 s without jitter', () => {
    const backoff = new Backoff(restarts);
    expect(Array.from({ length: 8 }, () => backoff.next())).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('starts from 1 s again after a reset', () => {
    const backoff = new Backoff(restarts);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(1_000);
  });
});

describe('retryBackoff', () => {
  it('gives cockatiel the same series of delays', () => {
    const first = retryBackoff({ ...settings, random: () => 1 }).next(undefined);
    const second = first.next(undefined);
    const third = second.next(undefined);
    expect([first.duration, second.duration, third.duration]).toEqual([100, 200, 400]);
  });
});

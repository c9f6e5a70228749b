import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_LOOP_SAMPLE_MS, EventLoopDelay } from './event-loop-delay';

function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

const MS = 1e6;
const REGISTER_TS = join(__dirname, '..', '..', 'test', 'support', 'register-ts.js');

describe(EventLoopDelay.name, () => {
  let eventLoop: EventLoopDelay;

  beforeEach(() => {
    eventLoop = new EventLoopDelay();
  });

  afterEach(() => eventLoop.stop());

  it('samples once a second, recording the interval between samples in nanoseconds', async () => {
    const window = eventLoop.openWindow();
    await sleep(2 * EVENT_LOOP_SAMPLE_MS + 200);
    expect(window.count).toBe(2);
    expect(window.min).toBeGreaterThanOrEqual((EVENT_LOOP_SAMPLE_MS - 5) * MS);
    expect(window.max).toBeLessThan((EVENT_LOOP_SAMPLE_MS + 100) * MS);
  });

  it('records a stalled loop as an interval at least as long as the stall', async () => {
    const window = eventLoop.openWindow();
    await sleep(100);
    blockEventLoop(1_500);
    await sleep(50);
    expect(window.count).toBe(1);
    expect(window.max).toBeGreaterThanOrEqual(1_500 * MS);
  });

  it('gives every reader the same samples, and a reset of one window leaves the others alone', async () => {
    const metrics = eventLoop.openWindow();
    const liveness = eventLoop.openWindow();
    await sleep(EVENT_LOOP_SAMPLE_MS + 100);
    expect(metrics.count).toBe(1);
    expect(liveness.count).toBe(1);
    expect(liveness.max).toBe(metrics.max);
    liveness.reset();
    await sleep(EVENT_LOOP_SAMPLE_MS);
    expect(liveness.count).toBe(1);
    expect(metrics.count).toBe(2);
  });

  it('stops sampling when stopped, more than once without harm', async () => {
    const window = eventLoop.openWindow();
    eventLoop.stop();
    eventLoop.stop();
    await sleep(EVENT_LOOP_SAMPLE_MS + 100);
    expect(window.count).toBe(0);
  });

  it('does not keep the process alive', async () => {
    // A process whose only pending work is the sampler ends at once; one kept alive is killed after 4 s.
    const script = `new (require(${JSON.stringify(__filename.replace(/\.spec\.ts$/, '.ts'))}).EventLoopDelay)().openWindow();`;
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      execFile(process.execPath, ['--require', REGISTER_TS, '-e', script], { timeout: 4_000 }, (error) =>
        resolve({
          code: error === null ? 0 : ((error.code as number | undefined) ?? null),
          signal: error?.signal ?? null,
        }),
      );
    });
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});

import { HealthIndicatorService } from '@nestjs/terminus';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopDelay } from '../metrics/event-loop-delay';
import { LivenessIndicator } from './liveness.health';

/** Keeps the event loop from turning for `ms`, as a wedged process would. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe(LivenessIndicator.name, () => {
  let eventLoop: EventLoopDelay;
  let liveness: LivenessIndicator;

  beforeEach(() => {
    eventLoop = new EventLoopDelay();
    liveness = new LivenessIndicator(new HealthIndicatorService(), eventLoop);
  });

  afterEach(() => eventLoop.stop());

  it('is up, with the process details, while the event loop turns', async () => {
    await sleep(2_100);
    const result = liveness.check('process');
    expect(result.process).toMatchObject({ status: 'up', pid: process.pid });
    // The samples' own interval (1 s) is not a delay.
    expect(result.process.eventLoopDelayP99Ms).toBeLessThan(100);
    expect(result.process.rssBytes).toBeGreaterThan(0);
  });

  it('is down once the event loop has stood still for more than 2 s, and up again after the next check', async () => {
    await sleep(600);
    blockEventLoop(3_000);
    await sleep(50);
    const wedged = liveness.check('process');
    expect(wedged.process.status).toBe('down');
    expect(wedged.process.eventLoopDelayP99Ms).toBeGreaterThan(2_000);
    expect(wedged.process.message).toMatch(/^event loop delayed \d+ ms; the process is stuck$/);
    await sleep(1_100);
    const recovered = liveness.check('process').process;
    expect(recovered.status).toBe('up');
    expect(recovered.eventLoopDelayP99Ms).toBeLessThan(100);
  });
});

import { StepScheduler } from './step-scheduler';

describe(StepScheduler.name, () => {
  let failures: unknown[];
  let scheduler: StepScheduler;

  beforeEach(() => {
    jest.useFakeTimers();
    failures = [];
    scheduler = new StepScheduler((error) => failures.push(error));
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs a step after its delay, with its turn current', async () => {
    const turns: Array<[number, boolean]> = [];
    scheduler.schedule((turn) => Promise.resolve(void turns.push([turn, scheduler.isCurrent(turn)])), 1_000);

    await jest.advanceTimersByTimeAsync(999);
    expect(turns).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);

    expect(turns).toEqual([[1, true]]);
  });

  it('runs only the latest of two steps scheduled', async () => {
    const ran: string[] = [];
    scheduler.schedule(() => Promise.resolve(void ran.push('first')), 1_000);
    scheduler.schedule(() => Promise.resolve(void ran.push('second')), 2_000);

    await jest.advanceTimersByTimeAsync(5_000);

    expect(ran).toEqual(['second']);
  });

  it('makes a running step’s turn stale when it is cancelled, and drops the pending one', async () => {
    let resume!: () => void;
    const current: boolean[] = [];
    scheduler.schedule(async (turn) => {
      await new Promise<void>((resolve) => (resume = resolve));
      current.push(scheduler.isCurrent(turn));
    }, 0);
    await jest.advanceTimersByTimeAsync(0);

    scheduler.cancel();
    resume();
    await jest.advanceTimersByTimeAsync(0);

    expect(current).toEqual([false]);
  });

  it('hands a step that throws to onFailure and goes on', async () => {
    const ran: string[] = [];
    scheduler.schedule(() => Promise.reject(new Error('bug')), 0);
    await jest.advanceTimersByTimeAsync(0);
    scheduler.schedule(() => Promise.resolve(void ran.push('next')), 0);
    await jest.advanceTimersByTimeAsync(0);

    expect(failures).toEqual([new Error('bug')]);
    expect(ran).toEqual(['next']);
  });

  it('on close, schedules nothing more and drain waits for the running step and tracked work', async () => {
    let finishStep!: () => void;
    let finishWork!: () => void;
    scheduler.schedule(() => new Promise<void>((resolve) => (finishStep = resolve)), 0);
    await jest.advanceTimersByTimeAsync(0);
    scheduler.track(new Promise<void>((resolve) => (finishWork = resolve)));

    scheduler.close();
    const ran: string[] = [];
    scheduler.schedule(() => Promise.resolve(void ran.push('after close')), 0);
    let drained = false;
    void scheduler.drain().then(() => (drained = true));
    finishStep();
    await jest.advanceTimersByTimeAsync(0);
    expect(drained).toBe(false);
    finishWork();
    await jest.advanceTimersByTimeAsync(0);

    expect(drained).toBe(true);
    expect(ran).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });
});

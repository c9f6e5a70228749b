import { Logger } from '@nestjs/common';
import { IDLE_BUSY_SHARE, IdleHeapReclaimer, RECLAIM_CHECK_MS, RECLAIM_GROWTH_BYTES } from './idle-heap-reclaimer';
import { RuntimeHeap } from './v8-heap';

const MIB = 1024 * 1024;

/**
 * A heap whose size, use and loop activity the test sets; it uses all it holds but `unused`, and a
 * collection shrinks it to `afterCollection`.
 */
class FakeHeap extends RuntimeHeap {
  committed = 30 * MIB;
  unused = 1 * MIB;
  busyShare = 0;
  afterCollection = 26 * MIB;
  collections = 0;
  failNext = false;
  pending?: () => void;
  holdCollections = false;

  committedBytes(): number {
    return this.committed;
  }

  usedBytes(): number {
    return this.committed - this.unused;
  }

  loopBusyShareSinceLastCall(): number {
    return this.busyShare;
  }

  async collectGarbage(): Promise<void> {
    this.collections += 1;
    if (this.holdCollections) {
      await new Promise<void>((resolve) => (this.pending = resolve));
    }
    if (this.failNext) {
      this.failNext = false;
      throw new Error('collection failed');
    }
    this.committed = this.afterCollection;
  }
}

describe(IdleHeapReclaimer.name, () => {
  let heap: FakeHeap;
  let reclaimer: IdleHeapReclaimer;
  let debug: jest.SpyInstance;

  beforeEach(() => {
    debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    heap = new FakeHeap();
    reclaimer = new IdleHeapReclaimer(heap);
  });

  afterEach(() => {
    reclaimer.stop();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('takes the first look as the size to grow from, and collects once the heap grew by the threshold', async () => {
    await reclaimer.check();
    heap.committed += RECLAIM_GROWTH_BYTES - 1;
    await reclaimer.check();
    expect(heap.collections).toBe(0);
    heap.committed += 1;
    await reclaimer.check();
    expect(heap.collections).toBe(1);
    expect(debug).toHaveBeenCalledWith(
      'idle: full collections took the heap from 34.0 MiB (33.0 in use) to 26.0 MiB (25.0 in use)',
    );
  });

  /** The first look, then a heap grown by the threshold over it. */
  async function firstLookThenGrow(): Promise<void> {
    await reclaimer.check();
    heap.committed += RECLAIM_GROWTH_BYTES;
  }

  it('does nothing while the event loop was busy, and collects at the next idle look', async () => {
    await firstLookThenGrow();
    heap.busyShare = 0.5;
    await reclaimer.check();
    heap.busyShare = IDLE_BUSY_SHARE;
    await reclaimer.check();
    expect(heap.collections).toBe(0);
    heap.busyShare = IDLE_BUSY_SHARE / 2;
    await reclaimer.check();
    expect(heap.collections).toBe(1);
  });

  it('collects again only once the heap has grown by the threshold over its size after the last collection', async () => {
    await firstLookThenGrow();
    await reclaimer.check();
    heap.committed = heap.afterCollection + RECLAIM_GROWTH_BYTES - 1;
    await reclaimer.check();
    expect(heap.collections).toBe(1);
    heap.committed = heap.afterCollection + RECLAIM_GROWTH_BYTES;
    await reclaimer.check();
    expect(heap.collections).toBe(2);
  });

  it('measures growth from the lowest size since the last collection, so V8 shrinking the heap counts', async () => {
    await reclaimer.check();
    heap.committed = 20 * MIB;
    await reclaimer.check();
    heap.committed = 20 * MIB + RECLAIM_GROWTH_BYTES;
    await reclaimer.check();
    expect(heap.collections).toBe(1);
  });

  it('collects a heap that stays large once, then waits for it to grow again', async () => {
    await reclaimer.check();
    heap.committed = 60 * MIB;
    heap.afterCollection = 58 * MIB;
    await reclaimer.check();
    await reclaimer.check();
    await reclaimer.check();
    expect(heap.collections).toBe(1);
  });

  it('collects at the first idle look a heap that holds the threshold more than it uses (start-up garbage)', async () => {
    heap.committed = 56 * MIB;
    heap.unused = RECLAIM_GROWTH_BYTES;
    await reclaimer.check();
    expect(heap.collections).toBe(1);
    expect(debug).toHaveBeenCalledWith(
      'idle: full collections took the heap from 56.0 MiB (52.0 in use) to 26.0 MiB (22.0 in use)',
    );
  });

  it('leaves a heap alone at the first look that holds less than the threshold more than it uses', async () => {
    heap.unused = RECLAIM_GROWTH_BYTES - 1;
    await reclaimer.check();
    expect(heap.collections).toBe(0);
  });

  it('weighs what the heap uses only at the first idle look, so a busy start waits for it, and only once', async () => {
    heap.unused = 20 * MIB;
    heap.busyShare = 0.5;
    await reclaimer.check();
    expect(heap.collections).toBe(0);
    heap.busyShare = 0;
    await reclaimer.check();
    expect(heap.collections).toBe(1);
    // A heap that still holds more than it uses after the collection is not collected again for that.
    await reclaimer.check();
    await reclaimer.check();
    expect(heap.collections).toBe(1);
  });

  it('does not start a second collection while one is under way', async () => {
    await firstLookThenGrow();
    heap.holdCollections = true;
    const first = reclaimer.check();
    await reclaimer.check();
    expect(heap.collections).toBe(1);
    heap.pending?.();
    await first;
  });

  it('logs a failed collection as a warning and tries again at the next idle look', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await firstLookThenGrow();
    heap.failNext = true;
    await reclaimer.check();
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.any(Error) }),
      'the idle heap collection failed',
    );
    await reclaimer.check();
    expect(heap.collections).toBe(2);
    expect(heap.committed).toBe(heap.afterCollection);
  });

  it('looks every ten seconds from bootstrap until stopped, without keeping the process alive', async () => {
    jest.useFakeTimers();
    const looks = jest.spyOn(heap, 'loopBusyShareSinceLastCall');
    reclaimer.onApplicationBootstrap();
    reclaimer.start();
    expect(looks).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(RECLAIM_CHECK_MS);
    heap.committed += RECLAIM_GROWTH_BYTES;
    await jest.advanceTimersByTimeAsync(RECLAIM_CHECK_MS - 1);
    expect(heap.collections).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(heap.collections).toBe(1);
    await jest.advanceTimersByTimeAsync(RECLAIM_CHECK_MS);
    expect(looks).toHaveBeenCalledTimes(4);
    reclaimer.onModuleDestroy();
    reclaimer.stop();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('unrefs its timer', () => {
    const setInterval = jest.spyOn(global, 'setInterval');
    reclaimer.start();
    const timer = setInterval.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
  });
});

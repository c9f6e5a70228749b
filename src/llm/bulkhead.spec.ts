import { Bulkhead, BulkheadAbortedError, BulkheadRefusedError } from './bulkhead';

describe(Bulkhead.name, () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('grants up to its capacity at once', async () => {
    const bulkhead = new Bulkhead(2, 0, 1_000);
    await bulkhead.acquire();
    await bulkhead.acquire();
    expect(bulkhead.inFlight).toBe(2);
  });

  it('refuses at once with overloaded when the queue is full', async () => {
    const bulkhead = new Bulkhead(1, 1, 1_000);
    await bulkhead.acquire();
    const queued = bulkhead.acquire();
    await expect(bulkhead.acquire()).rejects.toMatchObject({ reason: 'overloaded' });
    expect(bulkhead.queueDepth).toBe(1);
    void queued.catch(() => undefined);
  });

  it('hands a released slot to the longest waiter', async () => {
    const bulkhead = new Bulkhead(1, 2, 1_000);
    const release = await bulkhead.acquire();
    const order: string[] = [];
    const first = bulkhead.acquire().then((next) => {
      order.push('first');
      return next;
    });
    const second = bulkhead.acquire().then(() => order.push('second'));
    release();
    (await first)();
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(bulkhead.inFlight).toBe(1);
    expect(bulkhead.queueDepth).toBe(0);
  });

  it('refuses a waiter with queue_timeout after the queue timeout and frees its place', async () => {
    const bulkhead = new Bulkhead(1, 1, 300);
    await bulkhead.acquire();
    const waiting = bulkhead.acquire();
    const refused = expect(waiting).rejects.toMatchObject({ reason: 'queue_timeout' });
    await jest.advanceTimersByTimeAsync(299);
    expect(bulkhead.queueDepth).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    await refused;
    expect(bulkhead.queueDepth).toBe(0);
    const again = bulkhead.acquire();
    expect(bulkhead.queueDepth).toBe(1);
    void again.catch(() => undefined);
  });

  it('removes an aborted waiter from the queue at once', async () => {
    const bulkhead = new Bulkhead(1, 1, 1_000);
    const release = await bulkhead.acquire();
    const controller = new AbortController();
    const waiting = bulkhead.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(BulkheadAbortedError);
    expect(bulkhead.queueDepth).toBe(0);
    release();
    expect(bulkhead.inFlight).toBe(0);
  });

  it('counts a release only once', async () => {
    const bulkhead = new Bulkhead(2, 0, 1_000);
    const release = await bulkhead.acquire();
    await bulkhead.acquire();
    release();
    release();
    expect(bulkhead.inFlight).toBe(1);
  });

  it('refuses waiters and later requests with shutting_down once closed, leaving running calls alone', async () => {
    const bulkhead = new Bulkhead(1, 2, 1_000);
    await bulkhead.acquire();
    const waiting = bulkhead.acquire();
    bulkhead.close();
    await expect(waiting).rejects.toMatchObject({ reason: 'shutting_down' });
    await expect(bulkhead.acquire()).rejects.toBeInstanceOf(BulkheadRefusedError);
    expect(bulkhead.inFlight).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reports every change of its counts', async () => {
    const changes: Array<[number, number]> = [];
    const bulkhead: Bulkhead = new Bulkhead(1, 1, 1_000, () => changes.push([bulkhead.inFlight, bulkhead.queueDepth]));
    const release = await bulkhead.acquire();
    const next = bulkhead.acquire();
    release();
    (await next)();
    expect(changes.at(-1)).toEqual([0, 0]);
    expect(changes).toContainEqual([1, 1]);
  });
});

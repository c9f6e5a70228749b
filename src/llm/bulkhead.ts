/** Why the bulkhead refused a request; these are also `UnavailableReason`s. */
export type BulkheadRefusal = 'overloaded' | 'queue_timeout' | 'shutting_down';

export class BulkheadRefusedError extends Error {
  constructor(
    readonly reason: BulkheadRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'BulkheadRefusedError';
  }
}

/** The caller's signal aborted while its request waited for a slot. */
export class BulkheadAbortedError extends Error {
  constructor() {
    super('aborted while waiting for a slot');
    this.name = 'BulkheadAbortedError';
  }
}

/** Gives a slot back; safe to call more than once. */
export type ReleaseSlot = () => void;

interface Waiter {
  grant: (release: ReleaseSlot) => void;
  refuse: (error: Error) => void;
}

/**
 * At most `capacity` calls at once and at most `queueCapacity` waiting, each for at most
 * `queueTimeoutMs`. Beyond the queue a request is refused at once, so an overload shows as quick 503s
 * rather than as growing latency. A waiter that times out or is aborted leaves the queue at once and
 * frees its place.
 *
 * (cockatiel's bulkhead keeps cancelled waiters in its queue until a slot frees up, and then does not
 * hand that slot on, so it cannot carry a queue timeout.)
 */
export class Bulkhead {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private closed = false;

  constructor(
    readonly capacity: number,
    readonly queueCapacity: number,
    readonly queueTimeoutMs: number,
    /** Called whenever `inFlight` or `queueDepth` changes, e.g. to update gauges. */
    private readonly onChange: () => void = () => undefined,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /**
   * Waits for a slot.
   * @throws BulkheadRefusedError `overloaded` when the queue is full, `queue_timeout` after
   *   `queueTimeoutMs` of waiting, `shutting_down` once `close()` was called.
   * @throws BulkheadAbortedError when `signal` aborts while waiting.
   */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    if (this.closed) {
      return Promise.reject(new BulkheadRefusedError('shutting_down', 'the service is shutting down'));
    }
    if (signal?.aborted) {
      return Promise.reject(new BulkheadAbortedError());
    }
    if (this.active < this.capacity && this.queue.length === 0) {
      return Promise.resolve(this.take());
    }
    if (this.queue.length >= this.queueCapacity) {
      return Promise.reject(
        new BulkheadRefusedError(
          'overloaded',
          `${this.active} requests are running and ${this.queue.length} waiting, the most allowed`,
        ),
      );
    }
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const leave = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.queue.indexOf(waiter);
        if (index >= 0) {
          this.queue.splice(index, 1);
          this.onChange();
        }
      };
      const waiter: Waiter = {
        grant: (release) => {
          leave();
          resolve(release);
        },
        refuse: (error) => {
          leave();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.refuse(new BulkheadAbortedError());
      const timer = setTimeout(
        () =>
          waiter.refuse(
            new BulkheadRefusedError('queue_timeout', `no slot became free within ${this.queueTimeoutMs} ms`),
          ),
        this.queueTimeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.onChange();
    });
  }

  /** Refuses everyone waiting and every later request with `shutting_down`; running calls keep their slots. */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.queue]) {
      waiter.refuse(new BulkheadRefusedError('shutting_down', 'the service is shutting down'));
    }
  }

  private take(): ReleaseSlot {
    this.active++;
    this.onChange();
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      this.active--;
      const next = this.queue[0];
      if (next !== undefined && this.active < this.capacity) {
        next.grant(this.take());
      } else {
        this.onChange();
      }
    };
  }
}

import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { RuntimeHeap } from './v8-heap';

/** Milliseconds between two looks at the heap: one wake-up of an idle process every ten seconds. */
export const RECLAIM_CHECK_MS = 10_000;
/** The event loop counts as idle over a period in which it ran code less than this share of the time. */
export const IDLE_BUSY_SHARE = 0.01;
/** Growth of the committed heap over its lowest since the last reclaim that is worth a collection. */
export const RECLAIM_GROWTH_BYTES = 4 * 1024 * 1024;

const MIB = 1024 * 1024;

/** `56.3 MiB (33.4 in use)`. */
function size(committed: number, used: number): string {
  return `${(committed / MIB).toFixed(1)} MiB (${(used / MIB).toFixed(1)} in use)`;
}

/**
 * Gives the memory of a busy period back once the service is idle again.
 *
 * Under load V8 grows the young generation (to 16 MiB here) and promotes short-lived objects into the
 * old one; its memory reducer, which would collect them once allocation stops, only starts after a full
 * collection that left the old generation 10 MiB larger than its last run did. A load that stops short
 * of that leaves the heap as it was at its end, garbage included, until enough allocation happens to
 * collect it: minutes, for an idle service (`docs/benchmarks.md`).
 *
 * So every {@link RECLAIM_CHECK_MS} this looks at the heap. When the event loop was idle for the whole
 * period and the heap has grown by {@link RECLAIM_GROWTH_BYTES} over the lowest it was since the last
 * collection (or since the first look), it runs full collections
 * (`RuntimeHeap.collectGarbage`): tens of milliseconds of one core, once per busy period, while nobody
 * is waiting. A heap that grew because the service holds more is collected once and then measured from
 * its new size, so a larger live heap costs one collection, not one every period. Under load nothing
 * happens: V8's own schedule serves a busy process best.
 *
 * Start-up's garbage V8 usually collects by itself, and one more collection after it only moved the
 * heap about. But in some starts its reducer had not run a minute later, and the heap held twice what
 * it used (56 MiB committed for 33 used): V8 starts its reducer after a full collection, and an idle
 * service allocates too little to cause one. So the first idle look also collects when the heap holds
 * {@link RECLAIM_GROWTH_BYTES} more than it uses. That collection frees start-up's garbage at once; the
 * pages it empties V8's reducer gives back some seconds later (`docs/benchmarks.md`, change 21).
 */
@Injectable()
export class IdleHeapReclaimer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Heap');
  private timer?: NodeJS.Timeout;
  /** Lowest committed size since the last collection (or since the first look). */
  private lowestBytes = Number.POSITIVE_INFINITY;
  private collecting = false;
  private firstIdleLook = true;

  constructor(private readonly heap: RuntimeHeap) {}

  onApplicationBootstrap(): void {
    this.start();
  }

  onModuleDestroy(): void {
    this.stop();
  }

  /** Starts looking every {@link RECLAIM_CHECK_MS}; the timer never keeps the process alive. */
  start(): void {
    if (this.timer === undefined) {
      // The first period is measured from here, not from whatever ran before.
      this.heap.loopBusyShareSinceLastCall();
      this.timer = setInterval(() => void this.check(), RECLAIM_CHECK_MS).unref();
    }
  }

  /** Stops looking. Safe to call more than once; a collection under way finishes on its own. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One look: collects when the event loop was idle since the previous look and the heap is
   * {@link RECLAIM_GROWTH_BYTES} larger than the lowest it has been since the last collection, or, at
   * the first idle look, larger than what it uses by as much.
   */
  async check(): Promise<void> {
    const busyShare = this.heap.loopBusyShareSinceLastCall();
    if (this.collecting) {
      return;
    }
    const before = this.heap.committedBytes();
    this.lowestBytes = Math.min(this.lowestBytes, before);
    if (busyShare >= IDLE_BUSY_SHARE) {
      return;
    }
    const usedBefore = this.heap.usedBytes();
    const startUpSlack = this.firstIdleLook && before - usedBefore >= RECLAIM_GROWTH_BYTES;
    this.firstIdleLook = false;
    if (!startUpSlack && before < this.lowestBytes + RECLAIM_GROWTH_BYTES) {
      return;
    }
    this.collecting = true;
    try {
      await this.heap.collectGarbage();
      const after = this.heap.committedBytes();
      this.lowestBytes = after;
      this.logger.debug(
        `idle: full collections took the heap from ${size(before, usedBefore)} to ${size(after, this.heap.usedBytes())}`,
      );
    } catch (error) {
      this.logger.warn({ err: error }, 'the idle heap collection failed');
    } finally {
      this.collecting = false;
    }
  }
}

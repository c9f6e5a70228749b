import { Injectable } from '@nestjs/common';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Full collections of one reclaim at most. */
const MAX_COLLECTIONS = 3;
/** A collection that gives back less than this (a quarter of one of V8's pages) is the last. */
const NOTHING_BYTES = 64 * 1024;

/**
 * V8's collector as `--expose-gc` exposes it. `execution: 'async'` runs the collection as a task of its
 * own, from an empty stack, and resolves when it is done; it still stops the loop while it runs.
 */
type ExposedGc = (options: { type: 'major'; execution: 'async' }) => PromiseLike<void>;

/**
 * The process's JavaScript heap and event loop, as the idle reclaimer sees them: what the heap holds
 * from the system, how busy the loop has been, and a full collection on demand. An abstract class, so
 * that the reclaimer's decisions are tested without waiting for V8.
 */
export abstract class RuntimeHeap {
  /** Bytes the heap holds from the system (committed), live objects and garbage alike. */
  abstract committedBytes(): number;
  /** Bytes of the heap in use: live objects, and garbage not collected yet. */
  abstract usedBytes(): number;
  /** Share of the time since the previous call (or since start) the event loop spent running code, 0 to 1. */
  abstract loopBusyShareSinceLastCall(): number;
  /** Full (major) collections until the heap is as small as they make it; resolves when done. */
  abstract collectGarbage(): Promise<void>;
}

@Injectable()
export class V8RuntimeHeap extends RuntimeHeap {
  private lastUtilization: EventLoopUtilization = performance.eventLoopUtilization();
  private gc?: ExposedGc;

  committedBytes(): number {
    return getHeapStatistics().total_heap_size;
  }

  usedBytes(): number {
    return getHeapStatistics().used_heap_size;
  }

  loopBusyShareSinceLastCall(): number {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, this.lastUtilization);
    this.lastUtilization = now;
    return utilization;
  }

  /**
   * Full collections, each a task of its own so that what is due in between runs in between, until one
   * gives nothing back ({@link MAX_COLLECTIONS} at most). The first frees the garbage; the next move
   * what survived out of the pages it left sparse, so that those are given back too (after one
   * collection the old generation was 2–3 MiB larger here than after three; V8's own memory reducer also
   * runs up to three).
   */
  async collectGarbage(): Promise<void> {
    const gc = this.exposedGc();
    let committed = this.committedBytes();
    for (let collection = 0; collection < MAX_COLLECTIONS; collection += 1) {
      await gc({ type: 'major', execution: 'async' });
      const before = committed;
      committed = this.committedBytes();
      if (before - committed < NOTHING_BYTES) {
        return;
      }
    }
  }

  /**
   * The `gc` function of `--expose-gc`, whether or not the process was started with the flag: a context
   * created while the flag is on has it. The flag is turned off again at once (unless it was given at
   * start), so that no other code finds a `gc` it did not ask for.
   */
  private exposedGc(): ExposedGc {
    if (this.gc === undefined) {
      const given = (globalThis as { gc?: unknown }).gc;
      if (typeof given === 'function') {
        this.gc = given as ExposedGc;
      } else {
        setFlagsFromString('--expose-gc');
        try {
          this.gc = runInNewContext('gc') as ExposedGc;
        } finally {
          setFlagsFromString('--no-expose-gc');
        }
      }
    }
    return this.gc;
  }
}

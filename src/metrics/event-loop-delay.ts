import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/**
 * Milliseconds between two samples of the event loop. Every sample wakes an idle process, at 0.1 to
 * 1 ms of CPU time here (`docs/benchmarks.md`); a stall longer than this is always caught, shorter
 * ones in proportion to their length.
 */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/**
 * The one sampler of the event loop's delay in the process: a timer that measures the interval between
 * its own runs, in nanoseconds, as `perf_hooks.monitorEventLoopDelay` does. An interval longer than the
 * schedule is a delay: the loop was busy (or stuck) when the timer was due.
 *
 * Every reader opens a window of its own (`/metrics` between scrapes, `/health/live` between probes)
 * and resets it when it has read it, so readers never take samples from each other, and one timer
 * wakes an idle process however many read it. The timer never keeps the process alive.
 */
@Injectable()
export class EventLoopDelay implements OnModuleDestroy {
  /** Milliseconds between samples: the part of an interval that is not a delay. */
  readonly intervalMs = EVENT_LOOP_SAMPLE_MS;
  private readonly windows = new Set<RecordableHistogram>();
  private timer?: NodeJS.Timeout;
  private lastSample = 0n;

  /** A histogram of every interval from now on, in nanoseconds; the caller resets it after each read. */
  openWindow(): RecordableHistogram {
    const window = createHistogram();
    this.windows.add(window);
    if (this.timer === undefined) {
      this.lastSample = process.hrtime.bigint();
      this.timer = setInterval(() => this.sample(), this.intervalMs).unref();
    }
    return window;
  }

  /** Stops sampling; the windows keep what they hold. Safe to call more than once. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  onModuleDestroy(): void {
    this.stop();
  }

  private sample(): void {
    const now = process.hrtime.bigint();
    const interval = now - this.lastSample;
    this.lastSample = now;
    for (const window of this.windows) {
      window.record(interval);
    }
  }
}

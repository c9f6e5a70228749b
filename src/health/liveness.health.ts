import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** A p99 event-loop delay above this means the process is wedged, not merely busy. */
const MAX_EVENT_LOOP_DELAY_MS = 2000;
/**
 * A quarter of the limit above (a stall registers at least its length less this), and rare enough that
 * an idle process spends 0.2 ms a second on it.
 */
const EVENT_LOOP_SAMPLE_MS = 500;

/**
 * Liveness of the process itself. It deliberately ignores Ollama: a restart of this service would not
 * fix Ollama, and Kubernetes must not kill a healthy pod because its model server is down.
 */
@Injectable()
export class LivenessIndicator implements OnModuleDestroy {
  private readonly eventLoop: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });

  constructor(private readonly indicators: HealthIndicatorService) {
    this.eventLoop.enable();
  }

  check(key: string): HealthIndicatorResult {
    const indicator = this.indicators.check(key);
    // The histogram holds the intervals between samples: their excess over the schedule is the delay.
    const p99Ms = Math.max(0, Math.round(this.eventLoop.percentile(99) / 1e6) - EVENT_LOOP_SAMPLE_MS);
    this.eventLoop.reset();
    const details = {
      pid: process.pid,
      uptimeSeconds: Math.round(process.uptime()),
      rssBytes: process.memoryUsage.rss(),
      eventLoopDelayP99Ms: p99Ms,
    };
    if (p99Ms > MAX_EVENT_LOOP_DELAY_MS) {
      return indicator.down({ ...details, message: `event loop delayed ${p99Ms} ms; the process is stuck` });
    }
    return indicator.up(details);
  }

  onModuleDestroy(): void {
    this.eventLoop.disable();
  }
}

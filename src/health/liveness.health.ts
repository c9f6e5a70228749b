import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { RecordableHistogram } from 'node:perf_hooks';
import { EventLoopDelay } from '../metrics/event-loop-delay';

/**
 * A p99 event-loop delay above this means the process is wedged, not merely busy. A stall registers
 * at least its length less the sampler's interval (1 s), so every stall longer than 3 s is caught.
 */
const MAX_EVENT_LOOP_DELAY_MS = 2000;

/**
 * Liveness of the process itself. It deliberately ignores Ollama: a restart of this service would not
 * fix Ollama, and Kubernetes must not kill a healthy pod because its model server is down.
 */
@Injectable()
export class LivenessIndicator {
  /** The intervals of the process's event-loop sampler since the last check. */
  private readonly eventLoop: RecordableHistogram;
  private readonly sampleMs: number;

  constructor(
    private readonly indicators: HealthIndicatorService,
    eventLoopDelay: EventLoopDelay,
  ) {
    this.eventLoop = eventLoopDelay.openWindow();
    this.sampleMs = eventLoopDelay.intervalMs;
  }

  check(key: string): HealthIndicatorResult {
    const indicator = this.indicators.check(key);
    // The histogram holds the intervals between samples: their excess over the schedule is the delay.
    const p99Ms = Math.max(0, Math.round(this.eventLoop.percentile(99) / 1e6) - this.sampleMs);
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
}

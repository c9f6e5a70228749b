import type { RecordableHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { EVENT_LOOP_SAMPLE_MS } from './event-loop-delay';

type PerfHooks = typeof import('node:perf_hooks');

/**
 * Registers prom-client's default process metrics on `registry`, with `nodejs_eventloop_lag_*`
 * summarising `window` (the process's one event-loop sampler) instead of a sampler of their own: each
 * sampler is a timer that wakes an idle process. prom-client makes its sampler with
 * `perf_hooks.monitorEventLoopDelay` while it registers the metrics; for that moment the call answers
 * `window`, which has every reading the metrics take (min, max, mean, stddev, percentiles, reset), and
 * the real function is back in place before this returns.
 */
export function collectDefaultMetricsFrom(registry: Registry, window: RecordableHistogram): void {
  // The module object itself, which prom-client reads the function from; an import would be a copy.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const perfHooks = require('node:perf_hooks') as PerfHooks;
  const monitorEventLoopDelay = perfHooks.monitorEventLoopDelay;
  perfHooks.monitorEventLoopDelay = () => Object.assign(window, { enable: () => true, disable: () => true });
  try {
    // The precision only matters should prom-client ever make its own sampler after all.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  } finally {
    perfHooks.monitorEventLoopDelay = monitorEventLoopDelay;
  }
}

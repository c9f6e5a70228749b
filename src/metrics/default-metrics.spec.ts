import { createHistogram } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { collectDefaultMetricsFrom } from './default-metrics';

/** The value of an unlabelled gauge in the exposition text. */
function valueOf(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) {
    throw new Error(`${name} is not in the exposition`);
  }
  return Number(line.slice(name.length + 1));
}

describe(collectDefaultMetricsFrom.name, () => {
  it('summarises the given window in nodejs_eventloop_lag_*, and resets it at every scrape', async () => {
    const registry = new Registry();
    const window = createHistogram();
    collectDefaultMetricsFrom(registry, window);
    window.record(1_000_000_000);
    window.record(1_000_000_000);
    window.record(2_500_000_000);

    const first = await registry.metrics();
    expect(valueOf(first, 'nodejs_eventloop_lag_min_seconds')).toBeCloseTo(1, 2);
    expect(valueOf(first, 'nodejs_eventloop_lag_max_seconds')).toBeCloseTo(2.5, 2);
    expect(valueOf(first, 'nodejs_eventloop_lag_p50_seconds')).toBeCloseTo(1, 2);
    expect(valueOf(first, 'nodejs_eventloop_lag_mean_seconds')).toBeCloseTo(1.5, 2);
    expect(window.count).toBe(0);

    window.record(1_200_000_000);
    const second = await registry.metrics();
    expect(valueOf(second, 'nodejs_eventloop_lag_max_seconds')).toBeCloseTo(1.2, 2);
  });

  it('registers the rest of the default process metrics as before', async () => {
    const registry = new Registry();
    collectDefaultMetricsFrom(registry, createHistogram());
    const text = await registry.metrics();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_version_info',
      'nodejs_gc_duration_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('puts perf_hooks.monitorEventLoopDelay back, also when registering fails', () => {
    // The module object itself, as prom-client sees it (an import would be a copy).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const perfHooks = require('node:perf_hooks') as typeof import('node:perf_hooks');
    const own = perfHooks.monitorEventLoopDelay;
    const registry = new Registry();
    collectDefaultMetricsFrom(registry, createHistogram());
    expect(perfHooks.monitorEventLoopDelay).toBe(own);
    // A second registration on the same registry throws (the names are taken).
    expect(() => collectDefaultMetricsFrom(registry, createHistogram())).toThrow(/already been registered/);
    expect(perfHooks.monitorEventLoopDelay).toBe(own);
  });
});

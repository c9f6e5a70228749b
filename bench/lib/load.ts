/**
 * Closed-loop load with autocannon: `connections` clients, each sending its next request as soon as
 * the previous one is answered. Every response's latency is kept (autocannon's histograms round to
 * whole milliseconds, too coarse for an overhead of a fraction of one), so that runs can be merged
 * and percentiles computed exactly.
 */
import autocannon from 'autocannon';

export interface LoadTarget {
  url: string;
  body: unknown;
  headers?: Record<string, string>;
}

export interface LoadRun {
  /** Latencies (ms) of the 2xx responses after the warm-up. */
  latencies: number[];
  /** Seconds measured (the run less its warm-up). */
  seconds: number;
  /** Answers that were not 2xx, socket errors and timeouts, over the whole run. */
  errors: number;
  /** Every answer of the whole run, warm-up included (to divide the CPU time of a process by). */
  responses: number;
}

/** A request that takes longer than this counts as an error. */
const REQUEST_TIMEOUT_SECONDS = 30;

/**
 * Runs `connections` clients for `warmupSeconds + seconds`; responses completed in the first
 * `warmupSeconds` (connection set-up, JIT) are not measured.
 */
export function runLoad(
  target: LoadTarget,
  connections: number,
  seconds: number,
  warmupSeconds: number,
): Promise<LoadRun> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    let non2xx = 0;
    let responses = 0;
    const started = performance.now();
    const measureFrom = started + warmupSeconds * 1000;
    let lastResponse = measureFrom;
    const instance = autocannon(
      {
        url: target.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body: JSON.stringify(target.body),
        connections,
        duration: warmupSeconds + seconds,
        timeout: REQUEST_TIMEOUT_SECONDS,
      },
      (error, result) => {
        if (error !== null) {
          reject(error);
          return;
        }
        resolve({
          latencies,
          seconds: Math.max(lastResponse - measureFrom, 1) / 1000,
          errors: non2xx + result.errors,
          responses,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      responses++;
      if (statusCode < 200 || statusCode > 299) {
        non2xx++;
        return;
      }
      const now = performance.now();
      if (now >= measureFrom) {
        latencies.push(responseTime);
        lastResponse = now;
      }
    });
  });
}

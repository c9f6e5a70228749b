import { setTimeout as delay } from 'node:timers/promises';
import { metricValue } from '../../support/metrics';

/** The samples in `http_request_duration_seconds`, summed over the series whose labels include `labels`. */
export function durationSamples(url: string, labels: Record<string, string>): Promise<number> {
  return metricValue(url, 'http_request_duration_seconds_count', labels);
}

/**
 * How many samples matching `labels` were added since `before`: waits (up to `timeoutMs`) until at
 * least one was, then reads once more, so that a second sample recorded for the same answer (when the
 * connection closes, say) would be counted too.
 */
export async function samplesAddedSince(
  url: string,
  labels: Record<string, string>,
  before: number,
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while ((await durationSamples(url, labels)) === before && Date.now() < deadline) {
    await delay(50);
  }
  await delay(100);
  return (await durationSamples(url, labels)) - before;
}

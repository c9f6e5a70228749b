import { setTimeout as delay } from 'node:timers/promises';

const COUNT_LINE = /^http_request_duration_seconds_count\{([^}]*)\} (\d+)$/;

function labelsOf(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map(([, name, value]) => [name, value]));
}

/** The samples in `http_request_duration_seconds`, summed over the series whose labels include `labels`. */
export async function durationSamples(url: string, labels: Record<string, string>): Promise<number> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = COUNT_LINE.exec(line);
    if (match !== null) {
      const series = labelsOf(match[1]);
      if (Object.entries(labels).every(([name, value]) => series[name] === value)) {
        total += Number(match[2]);
      }
    }
  }
  return total;
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

/** Reading the service's Prometheus text (`GET /metrics`) in tests. */

function labelsOf(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map(([, name, value]) => [name, value]));
}

/**
 * The value of the series of `name` whose labels include `labels`, summed (0 when there is none): a
 * counter, a gauge, or a histogram's `_count` or `_sum`, e.g.
 * `metricValue(url, 'llm_request_duration_seconds_count', { outcome: 'aborted' })`.
 */
export async function metricValue(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) {
      continue;
    }
    const series = labelsOf(match[2] ?? '');
    if (Object.entries(labels).every(([label, value]) => series[label] === value)) {
      total += Number(match[3]);
    }
  }
  return total;
}

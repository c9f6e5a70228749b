/** Summary statistics over latency samples (milliseconds). */

export interface Summary {
  count: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  /** Sample standard deviation (n - 1); 0 for fewer than two samples. */
  stdev: number;
  p50: number;
  p90: number;
  p99: number;
}

/**
 * The `p`-th percentile (0..100) of ascending `sorted` by linear interpolation between closest
 * ranks (numpy's default), so a p99 over a few hundred samples is not just the maximum.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] ?? Number.NaN;
  const highValue = sorted[high] ?? Number.NaN;
  return lowValue + (highValue - lowValue) * (rank - low);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  const values = Array.from(sorted);
  const count = values.length;
  const mean = count === 0 ? Number.NaN : values.reduce((sum, v) => sum + v, 0) / count;
  const variance = count < 2 ? 0 : values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (count - 1);
  return {
    count,
    min: values[0] ?? Number.NaN,
    max: values[count - 1] ?? Number.NaN,
    mean,
    median: percentile(values, 50),
    stdev: Math.sqrt(variance),
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
  };
}

/** Rounds for JSON output and tables: three decimals are microseconds, finer is noise. */
export function round(value: number, decimals = 3): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

export function roundSummary(summary: Summary): Summary {
  const rounded = { ...summary };
  for (const key of Object.keys(rounded) as Array<keyof Summary>) {
    if (key !== 'count') {
      rounded[key] = round(rounded[key]);
    }
  }
  return rounded;
}

/**
 * Market-risk indicators computed from a price series, exactly as CONTRACT §2 defines them. Pure
 * functions: no I/O, no rounding, so the numbers a client gets are the numbers the model was shown.
 */

/** Trading days in a year, the usual factor for annualising daily volatility. */
export const TRADING_DAYS_PER_YEAR = 252;

export interface PriceIndicators {
  /** Number of period returns, i.e. prices minus one. */
  observations: number;
  /** Sample standard deviation (n - 1) of the returns × √252. */
  volatilityAnnualized: number;
  /** Largest fall from a running peak, `(peak - trough) / peak`; 0 when prices never fall. */
  maxDrawdown: number;
  /** One-period historical VaR at 95 %: minus the 5th percentile of the returns, floored at 0. */
  valueAtRisk95: number;
}

/**
 * Simple period returns `r_i = p_i / p_(i-1) - 1`, oldest first.
 * @throws RangeError when a price is not a positive finite number.
 */
export function simpleReturns(prices: readonly number[]): number[] {
  prices.forEach(assertPositivePrice);
  const returns: number[] = [];
  for (let i = 1; i < prices.length; i++) {
    returns.push(prices[i] / prices[i - 1] - 1);
  }
  return returns;
}

/**
 * Sample standard deviation with Bessel's correction (n - 1). Two passes (mean, then squared
 * deviations) keep the rounding error small for series whose values are close together.
 * With fewer than two values the sample deviation is undefined; 0 is returned, meaning "no measured
 * dispersion", because a single return gives no evidence of volatility either way.
 */
export function sampleStandardDeviation(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) {
    return 0;
  }
  const mean = values.reduce((sum, value) => sum + value, 0) / n;
  const squaredDeviations = values.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  return Math.sqrt(squaredDeviations / (n - 1));
}

/**
 * The `p`-th quantile (0..1) by linear interpolation between closest ranks, numpy's default method:
 * rank `h = p·(n - 1)` in the sorted values, interpolated between `floor(h)` and `ceil(h)`.
 * @throws RangeError for an empty series or `p` outside 0..1.
 */
export function quantileLinear(values: readonly number[], p: number): number {
  if (values.length === 0) {
    throw new RangeError('quantile of an empty series');
  }
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`quantile ${p} is outside 0..1`);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (rank - lower) * (sorted[upper] - sorted[lower]);
}

/**
 * The largest fall from a running peak as a fraction of that peak; 0 when prices never fall.
 * @throws RangeError when a price is not a positive finite number.
 */
export function maxDrawdown(prices: readonly number[]): number {
  prices.forEach(assertPositivePrice);
  let peak = -Infinity;
  let worst = 0;
  for (const price of prices) {
    peak = Math.max(peak, price);
    worst = Math.max(worst, (peak - price) / peak);
  }
  return worst;
}

/**
 * All indicators for a series of at least two prices, oldest first.
 * @throws RangeError when there are fewer than two prices, a price is not positive and finite, or the
 * series is so extreme that a return overflows.
 */
export function computeIndicators(prices: readonly number[]): PriceIndicators {
  if (prices.length < 2) {
    throw new RangeError(`at least 2 prices are needed for returns, got ${prices.length}`);
  }
  const returns = simpleReturns(prices);
  if (!returns.every(Number.isFinite)) {
    throw new RangeError('a price ratio is too large to compute returns');
  }
  return {
    observations: returns.length,
    volatilityAnnualized: sampleStandardDeviation(returns) * Math.sqrt(TRADING_DAYS_PER_YEAR),
    maxDrawdown: maxDrawdown(prices),
    valueAtRisk95: Math.max(0, -quantileLinear(returns, 0.05)),
  };
}

function assertPositivePrice(price: number, index: number): void {
  if (!(Number.isFinite(price) && price > 0)) {
    throw new RangeError(`price ${index} is ${price}; prices must be positive finite numbers`);
  }
}

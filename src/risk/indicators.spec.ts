import {
  computeIndicators,
  maxDrawdown,
  quantileLinear,
  sampleStandardDeviation,
  simpleReturns,
  TRADING_DAYS_PER_YEAR,
} from './indicators';

/** Welford's online algorithm: a different route to the sample variance than the two-pass formula. */
function welfordSampleStdev(values: number[]): number {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  for (const value of values) {
    count += 1;
    const delta = value - mean;
    mean += delta / count;
    m2 += delta * (value - mean);
  }
  return Math.sqrt(m2 / (count - 1));
}

/** Every pair (earlier peak, later trough): O(n²), obviously right. */
function bruteForceDrawdown(prices: number[]): number {
  let worst = 0;
  for (let i = 0; i < prices.length; i++) {
    for (let j = i + 1; j < prices.length; j++) {
      worst = Math.max(worst, (prices[i] - prices[j]) / prices[i]);
    }
  }
  return worst;
}

/** The k-th smallest value found by counting, without sorting the series. */
function kthSmallest(values: number[], k: number): number {
  for (const candidate of values) {
    const below = values.filter((value) => value < candidate).length;
    const equal = values.filter((value) => value === candidate).length;
    if (below <= k && k < below + equal) {
      return candidate;
    }
  }
  throw new Error('unreachable');
}

function selectionQuantile(values: number[], p: number): number {
  const h = p * (values.length - 1);
  const low = kthSmallest(values, Math.floor(h));
  const high = kthSmallest(values, Math.ceil(h));
  return low + (h - Math.floor(h)) * (high - low);
}

/** A deterministic random walk (mulberry32), so a failure can be replayed. */
function randomWalk(length: number, seed: number): number[] {
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const prices = [100];
  for (let i = 1; i < length; i++) {
    prices.push(prices[i - 1] * (1 + (random() - 0.5) * 0.08));
  }
  return prices;
}

describe('indicators', () => {
  describe(simpleReturns.name, () => {
    it('computes p_i / p_(i-1) - 1, oldest first', () => {
      const returns = simpleReturns([100, 90, 90, 99, 118.8]);
      [-0.1, 0, 0.1, 0.2].forEach((expected, i) => expect(returns[i]).toBeCloseTo(expected, 12));
      expect(returns).toHaveLength(4);
    });

    it.each([[0], [-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses the price %p', (bad) => {
      expect(() => simpleReturns([100, bad, 100])).toThrow(RangeError);
    });
  });

  describe(sampleStandardDeviation.name, () => {
    it('divides by n - 1 (hand-worked: [-0.1, 0, 0.1, 0.2] → √(0.05 / 3))', () => {
      expect(sampleStandardDeviation([-0.1, 0, 0.1, 0.2])).toBeCloseTo(Math.sqrt(0.05 / 3), 15);
    });

    it('is 0 for a single value, where the sample deviation is undefined', () => {
      expect(sampleStandardDeviation([0.3])).toBe(0);
    });

    it("agrees with Welford's algorithm on a long random series", () => {
      const returns = simpleReturns(randomWalk(2000, 7));
      expect(sampleStandardDeviation(returns)).toBeCloseTo(welfordSampleStdev(returns), 14);
    });
  });

  describe(quantileLinear.name, () => {
    it.each([
      // numpy.percentile(values, q) with the default method, values worked by hand.
      [[-0.1, 0, 0.1, 0.2], 0.05, -0.085],
      [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.05, 1.45],
      [[15, 20, 35, 40, 50], 0.4, 29],
      [[50, 15, 40, 20, 35], 0.4, 29],
      [[3], 0.05, 3],
      [[2, 4], 0, 2],
      [[2, 4], 1, 4],
    ])('interpolates between closest ranks like numpy: %p at %p → %p', (values, p, expected) => {
      expect(quantileLinear(values, p)).toBeCloseTo(expected, 12);
    });

    it('does not reorder the caller’s array', () => {
      const values = [3, 1, 2];
      quantileLinear(values, 0.5);
      expect(values).toEqual([3, 1, 2]);
    });

    it('agrees with a quantile found by counting instead of sorting', () => {
      const returns = simpleReturns(randomWalk(301, 11));
      for (const p of [0, 0.01, 0.05, 0.5, 0.95, 1]) {
        expect(quantileLinear(returns, p)).toBeCloseTo(selectionQuantile(returns, p), 15);
      }
    });

    it('refuses an empty series and a p outside 0..1', () => {
      expect(() => quantileLinear([], 0.05)).toThrow(RangeError);
      expect(() => quantileLinear([1], 1.5)).toThrow(RangeError);
      expect(() => quantileLinear([1], Number.NaN)).toThrow(RangeError);
    });
  });

  describe(maxDrawdown.name, () => {
    it('measures the largest fall from a running peak (hand-worked: peak 110, trough 98.01 → 0.109)', () => {
      expect(maxDrawdown([100, 110, 99, 108.9, 98.01])).toBeCloseTo(0.109, 12);
    });

    it('uses the peak before the trough, not a later one', () => {
      // 50 → 40 is 20 %; the later peak 200 → 180 is only 10 %.
      expect(maxDrawdown([50, 40, 200, 180])).toBeCloseTo(0.2, 12);
    });

    it('is 0 when prices never fall', () => {
      expect(maxDrawdown([1, 2, 2, 3, 4])).toBe(0);
    });

    it('agrees with a brute-force search over every pair', () => {
      const prices = randomWalk(400, 3);
      expect(maxDrawdown(prices)).toBeCloseTo(bruteForceDrawdown(prices), 15);
    });
  });

  describe(computeIndicators.name, () => {
    it('matches hand-worked values for returns [-0.1, 0, 0.1, 0.2]', () => {
      const indicators = computeIndicators([100, 90, 90, 99, 118.8]);
      expect(indicators.observations).toBe(4);
      // √(0.05 / 3 · 252) = √4.2
      expect(indicators.volatilityAnnualized).toBeCloseTo(Math.sqrt(4.2), 12);
      expect(indicators.maxDrawdown).toBeCloseTo(0.1, 12);
      expect(indicators.valueAtRisk95).toBeCloseTo(0.085, 12);
    });

    it('matches values computed with numpy for a twelve-price series', () => {
      // np.std(r, ddof=1) * np.sqrt(252); max((maximum.accumulate(p) - p) / maximum.accumulate(p));
      // max(0, -np.percentile(r, 5)) with r = p[1:] / p[:-1] - 1.
      const prices = [100, 102.5, 101.0, 104.2, 99.8, 97.3, 101.9, 105.4, 103.1, 106.0, 100.2, 108.7];
      const indicators = computeIndicators(prices);
      expect(indicators.observations).toBe(11);
      expect(indicators.volatilityAnnualized).toBeCloseTo(0.6798796506558116, 13);
      expect(indicators.maxDrawdown).toBeCloseTo(0.06621880998080619, 13);
      expect(indicators.valueAtRisk95).toBeCloseTo(0.04847173432803392, 13);
    });

    it('floors value at risk at 0 when even the worst returns are gains', () => {
      const indicators = computeIndicators([1, 2, 3, 4]);
      expect(indicators.valueAtRisk95).toBe(0);
      expect(Object.is(indicators.valueAtRisk95, -0)).toBe(false);
      expect(indicators.maxDrawdown).toBe(0);
    });

    it('reports zero volatility for two prices, where one return gives no sample deviation', () => {
      expect(computeIndicators([100, 90])).toEqual({
        observations: 1,
        volatilityAnnualized: 0,
        maxDrawdown: expect.closeTo(0.1, 12),
        valueAtRisk95: expect.closeTo(0.1, 12),
      });
    });

    it('annualises with √252', () => {
      const prices = randomWalk(50, 5);
      const returns = simpleReturns(prices);
      expect(computeIndicators(prices).volatilityAnnualized).toBeCloseTo(
        welfordSampleStdev(returns) * Math.sqrt(TRADING_DAYS_PER_YEAR),
        13,
      );
    });

    it('refuses fewer than two prices and ratios that overflow', () => {
      expect(() => computeIndicators([100])).toThrow(RangeError);
      expect(() => computeIndicators([5e-324, 1e300, 1])).toThrow(/too large/);
    });
  });
});

/** Keep-warm never checks more often than this, however short `keep_alive` is. */
export const MIN_CHECK_INTERVAL_MS = 250;
/** With `keep_alive` forever there is nothing to refresh, but the model can still be evicted. */
const FOREVER_CHECK_INTERVAL_MS = 60_000;
/** The residency is refreshed when less than this remains (or 20 % of `keep_alive`, if more). */
const MIN_REFRESH_MARGIN_MS = 10_000;
/**
 * When keep-warm looks at `/api/ps`, and how early it refreshes: with less than max(10 s, 20 %) of
 * `keep_alive` left (but never more than half of it), checking at least every quarter of it.
 */
export function keepWarmPlan(keepAliveMs: number): { checkEveryMs: number; refreshMarginMs: number } {
  if (!Number.isFinite(keepAliveMs)) {
    return { checkEveryMs: FOREVER_CHECK_INTERVAL_MS, refreshMarginMs: 0 };
  }
  return {
    checkEveryMs: Math.max(MIN_CHECK_INTERVAL_MS, keepAliveMs / 4),
    refreshMarginMs: Math.min(Math.max(MIN_REFRESH_MARGIN_MS, keepAliveMs * 0.2), keepAliveMs / 2),
  };
}

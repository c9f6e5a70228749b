import type { Logger } from '@nestjs/common';
import { sleep } from '../../common/abortable-sleep';
import type { OllamaPsModel } from '../ollama/ollama-api.types';
import { isOllamaFailure } from '../ollama/ollama-client.errors';

/** Keep-warm never checks more often than this, however short `keep_alive` is. */
const MIN_CHECK_INTERVAL_MS = 250;
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

/** What keep-warm needs of a model's lifecycle. */
export interface KeepWarmHost {
  model: string;
  logger: Logger;
  /** `keep_alive` in milliseconds; 0 when keep-warm is off (LLM_KEEP_WARM) or models unload at once. */
  keepAliveMs: number;
  /** Requests are running: Ollama keeps the model meanwhile, and their end restarts the countdown. */
  inUse(): boolean;
  /** The model's `/api/ps` entry, or `undefined` when it is not in memory; throws as the client does. */
  loadedEntry(signal: AbortSignal): Promise<OllamaPsModel | undefined>;
  /** Loads the model again after Ollama dropped it (loading meanwhile, then ready). */
  reload(signal: AbortSignal): Promise<void>;
  /** Re-sends the warm-up, which restarts the `keep_alive` countdown. */
  warmUp(): Promise<void>;
}

/**
 * While the model is ready: watches `/api/ps` and re-sends the warm-up before `keep_alive` runs out,
 * and reloads the model if Ollama dropped it. Returns only by throwing when `signal` aborts.
 */
export async function keepWarm(host: KeepWarmHost, signal: AbortSignal): Promise<void> {
  const { keepAliveMs } = host;
  if (keepAliveMs === 0) {
    return sleep(Infinity, signal);
  }
  const plan = keepWarmPlan(keepAliveMs);
  let nextCheckMs = plan.checkEveryMs;
  for (;;) {
    await sleep(nextCheckMs, signal);
    nextCheckMs = plan.checkEveryMs;
    let entry: OllamaPsModel | undefined;
    try {
      entry = await host.loadedEntry(signal);
    } catch (error) {
      signal.throwIfAborted();
      // Ollama's own health is the endpoint's business; try again at the next check.
      host.logger.debug({ err: error }, 'keep-warm could not read /api/ps');
      continue;
    }
    if (entry === undefined) {
      host.logger.warn(`model ${host.model} is no longer in Ollama's memory; loading it again`);
      await host.reload(signal);
      continue;
    }
    if (!Number.isFinite(keepAliveMs) || host.inUse()) {
      continue;
    }
    const remainingMs = Date.parse(entry.expires_at) - Date.now();
    if (Number.isNaN(remainingMs) || remainingMs <= plan.refreshMarginMs) {
      if (!(await refresh(host, signal)) && remainingMs > 0) {
        // Some residency is left: try again well before it runs out.
        nextCheckMs = Math.max(MIN_CHECK_INTERVAL_MS, Math.min(plan.checkEveryMs, remainingMs / 3));
      }
    } else {
      nextCheckMs = Math.max(MIN_CHECK_INTERVAL_MS, Math.min(plan.checkEveryMs, remainingMs - plan.refreshMarginMs));
    }
  }
}

/**
 * Re-sends the warm-up to restart the `keep_alive` countdown. The model is still loaded, so a failure
 * here changes nothing yet: it is logged, and the caller tries again soon.
 * @returns whether the refresh worked.
 */
async function refresh(host: KeepWarmHost, signal: AbortSignal): Promise<boolean> {
  try {
    await host.warmUp();
    return true;
  } catch (error) {
    if (signal.aborted || isOllamaFailure(error, 'model_not_found', 'aborted')) {
      throw error;
    }
    host.logger.warn(
      { err: isOllamaFailure(error) ? { message: error.message, detail: error.detail } : error },
      `refreshing the residency of ${host.model} failed; trying again shortly`,
    );
    return false;
  }
}

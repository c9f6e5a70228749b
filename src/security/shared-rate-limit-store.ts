import type { ThrottlerStorage } from '@nestjs/throttler';
import type { MetricsService } from '../metrics/metrics.service';

export type RateLimitRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Where the rate-limit counters are shared by every replica (Redis, with `REDIS_URL`), and the
 * injection token for it. Kept apart from the Redis implementation so that a service without
 * `REDIS_URL` never loads a Redis client: {@link openSharedRateLimitStore} loads it on demand.
 */
export abstract class SharedRateLimitStore {
  /** True while the store answers: the counters are shared with every replica. */
  abstract readonly reachable: boolean;

  /** The state in words an operator can act on, for `/health/ready`. */
  abstract readonly description: string;

  /**
   * Counts a hit, as `@nestjs/throttler`'s storage does.
   * @throws when the store is unreachable or does not answer in time.
   */
  abstract increment(
    key: string,
    ttlMs: number,
    limit: number,
    blockDurationMs: number,
    throttlerName: string,
  ): Promise<RateLimitRecord>;
}

/** The Redis store for `redisUrl`, its client loaded only now; none when nothing would be counted in it. */
export async function openSharedRateLimitStore(
  redisUrl: string | undefined,
  rateLimitPerMinute: number,
  metrics: MetricsService,
): Promise<SharedRateLimitStore | null> {
  if (redisUrl === undefined || rateLimitPerMinute === 0) {
    return null;
  }
  const { RedisRateLimitStore } = await import('./redis-rate-limit-store');
  return new RedisRateLimitStore(redisUrl, metrics);
}

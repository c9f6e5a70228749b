import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { SecurityConfig, securityConfig } from '../config/configuration';
import { SharedRateLimitStore } from './shared-rate-limit-store';

/**
 * Where the rate-limit counters live, for the details of `/health/ready`. Always up: with Redis away
 * the limit still holds per process, and taking replicas out of service would not bring Redis back.
 * It reads the state the connection's events keep, so a probe never waits on Redis.
 */
@Injectable()
export class RateLimitHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(securityConfig.KEY) private readonly config: SecurityConfig,
    @Optional() @Inject(SharedRateLimitStore) private readonly redis: SharedRateLimitStore | null,
  ) {}

  /**
   * Up with `{store: 'redis' | 'memory', message}`, the message such as
   * `rate-limit counters are per process: Redis at redis://redis:6379 is unreachable`.
   */
  check<const Key extends string = 'rateLimit'>(key: Key = 'rateLimit' as Key): HealthIndicatorResult<Key> {
    return this.indicators
      .check(key)
      .up({ store: this.redis?.reachable ? 'redis' : 'memory', message: this.describe() });
  }

  private describe(): string {
    if (this.config.rateLimitPerMinute === 0) {
      return 'rate limiting is off (RATE_LIMIT_PER_MINUTE=0)';
    }
    return this.redis?.description ?? 'rate-limit counters are per process (REDIS_URL is not set)';
  }
}

import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import { RateLimitRecord, SharedRateLimitStore } from './shared-rate-limit-store';

/**
 * Where `RateLimitGuard` counts: in Redis while it is reachable, so that every replica enforces one
 * limit; else (no `REDIS_URL`, Redis away, or a command that failed) in this process' memory, so a
 * Redis outage never refuses or delays a request. Counts made in memory during an outage stay there.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly memory = new ThrottlerStorageService();

  constructor(@Optional() @Inject(SharedRateLimitStore) private readonly redis: SharedRateLimitStore | null) {}

  async increment(
    key: string,
    ttlMs: number,
    limit: number,
    blockDurationMs: number,
    throttlerName: string,
  ): Promise<RateLimitRecord> {
    if (this.redis?.reachable) {
      try {
        return await this.redis.increment(key, ttlMs, limit, blockDurationMs, throttlerName);
      } catch {
        // Already reported by the store when it means Redis is gone; this request counts in memory.
      }
    }
    return this.memory.increment(key, ttlMs, limit, blockDurationMs, throttlerName);
  }

  onApplicationShutdown(): void {
    this.memory.onApplicationShutdown();
  }
}

import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { getOptionsToken, getStorageToken } from '@nestjs/throttler';
import { SecurityConfig, securityConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { ApiKeyGuard } from './api-key.guard';
import { BodyShapeGuard } from './body-shape.guard';
import { RateLimitGuard, rateLimitOptions } from './rate-limit.guard';
import { RateLimitStorage } from './rate-limit-storage';
import { RateLimitHealthIndicator } from './rate-limit.health';
import { openSharedRateLimitStore, SharedRateLimitStore } from './shared-rate-limit-store';

/**
 * API keys and rate limits on every route not marked `@Public()`, and a check of every JSON body's
 * shape. The guards run in the order listed: the key check first, so the rate limit counts per key and
 * a caller without a valid key spends no budget; the body is looked at only for callers let in.
 * With `REDIS_URL` the rate-limit counters are shared through Redis (while it answers).
 */
@Module({
  imports: [TerminusModule],
  providers: [
    {
      provide: SharedRateLimitStore,
      inject: [securityConfig.KEY, MetricsService],
      // No connection, and no Redis client loaded, when nothing would be counted in it.
      useFactory: (config: SecurityConfig, metrics: MetricsService) =>
        openSharedRateLimitStore(config.redisUrl, config.rateLimitPerMinute, metrics),
    },
    RateLimitStorage,
    { provide: getStorageToken(), useExisting: RateLimitStorage },
    {
      provide: getOptionsToken(),
      inject: [securityConfig.KEY],
      useFactory: (config: SecurityConfig) => rateLimitOptions(config),
    },
    RateLimitHealthIndicator,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: BodyShapeGuard },
  ],
  exports: [RateLimitHealthIndicator],
})
export class SecurityModule {}

import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { SecurityConfig, securityConfig } from '../config/configuration';
import { ApiKeyGuard } from './api-key.guard';
import { BodyShapeGuard } from './body-shape.guard';
import { RateLimitGuard, rateLimitOptions } from './rate-limit.guard';

/**
 * API keys and rate limits on every route not marked `@Public()`, and a check of every JSON body's
 * shape. The guards run in the order listed: the key check first, so the rate limit counts per key and
 * a caller without a valid key spends no budget; the body is looked at only for callers let in.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [securityConfig.KEY],
      useFactory: (config: SecurityConfig) => rateLimitOptions(config),
    }),
  ],
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: BodyShapeGuard },
  ],
})
export class SecurityModule {}

import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { SecurityConfig, securityConfig } from '../config/configuration';
import { apiKeyIdOf } from './api-key.guard';
import { isPublicRoute } from './public.decorator';

const ONE_MINUTE_MS = 60_000;

/**
 * One budget of `RATE_LIMIT_PER_MINUTE` requests per caller across all routes. A caller that goes over
 * it is refused for a minute from that moment (the throttler's block); `Retry-After` says how long.
 */
export function rateLimitOptions(config: SecurityConfig): ThrottlerModuleOptions {
  return { throttlers: [{ name: 'default', ttl: ONE_MINUTE_MS, limit: config.rateLimitPerMinute }] };
}

/**
 * `@nestjs/throttler` keyed by caller: the API key the request was let in with (by its hash, from
 * `ApiKeyGuard`, which runs first), else the client address. Public routes and a limit of 0 are
 * not limited. Over the limit: 429 with `Retry-After` in seconds.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(securityConfig.KEY) private readonly config: SecurityConfig,
  ) {
    super(options, storage, reflector);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(
      context.getType() !== 'http' || this.config.rateLimitPerMinute === 0 || isPublicRoute(this.reflector, context),
    );
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const keyId = apiKeyIdOf(request as unknown as FastifyRequest);
    return keyId === undefined ? `address:${await super.getTracker(request)}` : `key:${keyId}`;
  }

  /** The same key for every route, so the budget is the caller's, not the route's. */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return createHash('sha256').update(`${throttlerName}:${tracker}`).digest('hex');
  }

  protected override getErrorMessage(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<string> {
    return Promise.resolve(
      `rate limit exceeded: at most ${detail.limit} requests per minute (RATE_LIMIT_PER_MINUTE); ` +
        `retry after ${detail.timeToBlockExpire} s`,
    );
  }
}

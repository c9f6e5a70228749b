import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { MetricsService } from '../metrics/metrics.service';
import { RateLimitRecord, SharedRateLimitStore } from './shared-rate-limit-store';

/** Every key this service writes starts with it, so that one Redis can serve several deployments. */
export const REDIS_KEY_PREFIX = 'llm-gateway:';

/**
 * A Redis next to the service answers in about a millisecond; a command still unanswered after this
 * long means Redis is gone or stuck, and the request it holds up counts in memory instead.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;
/** Reconnection attempts back off up to this, so a Redis that is back is used again within seconds. */
const MAX_RECONNECT_DELAY_MS = 2_000;

type Reachability = 'connecting' | 'reachable' | 'unreachable';

/** `redis://host:port/db` without credentials, for log lines and health details. */
export function redisLocation(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString().replace(/\/$/, '');
}

/**
 * The Redis connection that holds the shared rate-limit counters, and the one owner of it. Whether
 * Redis is reachable is kept from the connection's own events (and a command that timed out), so
 * reading it costs no I/O. Each change is logged once and shown in `rate_limit_store_up`. Commands
 * never wait for a connection: with Redis away they fail at once, and a slow one fails after
 * {@link REDIS_COMMAND_TIMEOUT_MS}.
 */
export class RedisRateLimitStore extends SharedRateLimitStore implements OnModuleInit, OnApplicationShutdown {
  /** Where the counters live, without credentials. */
  readonly location: string;
  private readonly logger = new Logger('RateLimit');
  private readonly client: Redis;
  private readonly counters: ThrottlerStorageRedisService;
  private reachability: Reachability = 'connecting';
  private failureLogged = false;
  private closed?: Promise<void>;

  constructor(
    url: string,
    private readonly metrics: MetricsService,
  ) {
    super();
    this.location = redisLocation(url);
    this.client = new Redis(url, {
      lazyConnect: true,
      keyPrefix: REDIS_KEY_PREFIX,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // A request is never queued behind a connection that is not there; it is counted in memory.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    });
    this.client.on('ready', () => this.becomeReachable());
    this.client.on('close', () => this.becomeUnreachable());
    // Without a listener ioredis prints every failed reconnection attempt; the state change is enough.
    this.client.on('error', () => this.becomeUnreachable());
    this.counters = new ThrottlerStorageRedisService(this.client);
  }

  /** True while Redis answers: the counters are shared with every replica. */
  override get reachable(): boolean {
    return this.reachability === 'reachable';
  }

  /** The state in words an operator can act on, for `/health/ready`. */
  override get description(): string {
    return this.reachable
      ? `rate-limit counters are shared through Redis at ${this.location}`
      : `rate-limit counters are per process: Redis at ${this.location} is ${
          this.reachability === 'connecting' ? 'not connected yet' : 'unreachable'
        }`;
  }

  onModuleInit(): void {
    // Not awaited: the service serves (with counters in memory) while Redis is still away.
    this.client.connect().catch(() => undefined);
  }

  /**
   * Counts a hit in Redis, as `@nestjs/throttler`'s storage does.
   * @throws when Redis is unreachable (at once) or does not answer within {@link REDIS_COMMAND_TIMEOUT_MS}.
   */
  override async increment(
    key: string,
    ttlMs: number,
    limit: number,
    blockDurationMs: number,
    throttlerName: string,
  ): Promise<RateLimitRecord> {
    try {
      return await this.counters.increment(key, ttlMs, limit, blockDurationMs, throttlerName);
    } catch (error) {
      this.commandFailed(error);
      throw error;
    }
  }

  /** Quits the connection; safe to call twice, and bounded when Redis does not answer. */
  onApplicationShutdown(): Promise<void> {
    this.closed ??= this.close();
    return this.closed;
  }

  private async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      // Not connected, or no answer within the command timeout: drop the connection instead.
      this.client.disconnect();
    }
  }

  private commandFailed(error: unknown): void {
    if (!this.reachable) {
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (/timed out/i.test(message)) {
      // The connection looks open but Redis does not answer (stopped, or a network that drops packets):
      // send it no more requests, and let a fresh connection's `ready` say when it is back.
      this.becomeUnreachable();
      this.client.disconnect(true);
    } else if (!this.failureLogged) {
      // Redis answered with an error (read-only replica, missing permission, out of memory): it stays
      // reachable, so say it once, until the connection changes.
      this.failureLogged = true;
      this.logger.warn(
        `Redis at ${this.location} refused a rate-limit count (${message}); such requests count per process`,
      );
    }
  }

  private becomeReachable(): void {
    if (this.closed !== undefined || this.reachability === 'reachable') {
      return;
    }
    const again = this.reachability === 'unreachable';
    this.reachability = 'reachable';
    this.failureLogged = false;
    this.metrics.rateLimitStoreUp.set(1);
    this.logger.log(`rate-limit counters are shared${again ? ' again' : ''} through Redis at ${this.location}`);
  }

  private becomeUnreachable(): void {
    if (this.closed !== undefined || this.reachability === 'unreachable') {
      return;
    }
    this.reachability = 'unreachable';
    this.metrics.rateLimitStoreUp.set(0);
    this.logger.warn(`rate-limit counters are per process: Redis at ${this.location} is unreachable`);
  }
}

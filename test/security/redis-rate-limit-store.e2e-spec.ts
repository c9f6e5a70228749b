import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { MetricsService } from '../../src/metrics/metrics.service';
import { RateLimitStorage } from '../../src/security/rate-limit-storage';
import {
  REDIS_COMMAND_TIMEOUT_MS,
  REDIS_KEY_PREFIX,
  RedisRateLimitStore,
  redisLocation,
} from '../../src/security/redis-rate-limit-store';
import { startApp } from '../support/app';
import { eventually, freePort } from '../support/service-process';
import { RedisServer, startRedisServer } from './support/redis-server';

const MINUTE_MS = 60_000;

/** One replica's view: its own metrics, its own connection, its own storage. */
class Replica {
  readonly metrics = new MetricsService();
  readonly store: RedisRateLimitStore;
  readonly storage: RateLimitStorage;

  constructor(url: string) {
    this.store = new RedisRateLimitStore(url, this.metrics);
    this.storage = new RateLimitStorage(this.store);
    this.store.onModuleInit();
  }

  /** One request of `caller` against a limit of `limit` per minute. */
  hit(caller: string, limit = 100): ReturnType<RateLimitStorage['increment']> {
    return this.storage.increment(caller, MINUTE_MS, limit, MINUTE_MS, 'default');
  }

  async gauge(): Promise<number> {
    return (await this.metrics.rateLimitStoreUp.get()).values[0].value;
  }

  async close(): Promise<void> {
    await this.store.onApplicationShutdown();
    this.storage.onApplicationShutdown();
  }
}

function logged(spy: jest.SpyInstance, text: string): unknown[][] {
  return spy.mock.calls.filter(([message]) => typeof message === 'string' && message.includes(text));
}

describe(RedisRateLimitStore.name, () => {
  let redis: RedisServer | undefined;
  const replicas: Replica[] = [];
  let info: jest.SpyInstance;
  let warn: jest.SpyInstance;

  function replica(url: string): Replica {
    const created = new Replica(url);
    replicas.push(created);
    return created;
  }

  beforeEach(() => {
    info = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((created) => created.close()));
    await redis?.stop();
    redis = undefined;
    jest.restoreAllMocks();
  });

  it('shares one count between replicas, under keys that start with llm-gateway:', async () => {
    redis = await startRedisServer();
    const [one, two] = [replica(redis.url), replica(redis.url)];
    await eventually(() => one.store.reachable && two.store.reachable, 'both connections ready');

    const totals = [];
    for (let i = 0; i < 4; i++) {
      totals.push((await (i % 2 === 0 ? one : two).hit('key:abc', 3)).totalHits);
    }
    expect(totals).toEqual([1, 2, 3, 4]);
    expect((await two.hit('key:abc', 3)).isBlocked).toBe(true);
    expect(await one.gauge()).toBe(1);

    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.filter((key) => !key.startsWith(REDIS_KEY_PREFIX))).toEqual([]);
    } finally {
      client.disconnect();
    }
    expect(logged(info, `rate-limit counters are shared through Redis at ${redis.url}`)).toHaveLength(2);
  });

  it('counts in memory without waiting while Redis is down at start, and in Redis once it is up', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const one = replica(url);
    await eventually(() => logged(warn, 'is unreachable').length > 0, 'the unreachable warning');
    expect(one.store.description).toBe(`rate-limit counters are per process: Redis at ${url} is unreachable`);

    const started = Date.now();
    expect((await one.hit('key:down')).totalHits).toBe(1);
    expect((await one.hit('key:down')).totalHits).toBe(2);
    expect(Date.now() - started).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS);
    expect(await one.gauge()).toBe(0);

    redis = await startRedisServer(port);
    await eventually(() => one.store.reachable, 'the connection to come up', 10_000);
    expect(await one.gauge()).toBe(1);
    expect((await one.hit('key:down')).totalHits).toBe(1);
    expect(logged(warn, 'is unreachable')).toHaveLength(1);
    expect(logged(info, `rate-limit counters are shared again through Redis at ${url}`)).toHaveLength(1);
  });

  it('gives up on a stuck Redis after one command timeout, then counts in memory until it answers again', async () => {
    redis = await startRedisServer();
    const one = replica(redis.url);
    await eventually(() => one.store.reachable, 'the connection ready');
    expect((await one.hit('key:stuck')).totalHits).toBe(1);

    redis.pause();
    const first = await one.hit('key:stuck');
    expect(first.totalHits).toBe(1); // counted in memory: Redis did not answer
    expect(one.store.reachable).toBe(false);
    expect(await one.gauge()).toBe(0);
    const started = Date.now();
    expect((await one.hit('key:stuck')).totalHits).toBe(2);
    expect(Date.now() - started).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS);
    expect(logged(warn, 'is unreachable')).toHaveLength(1);

    redis.resume();
    await eventually(() => one.store.reachable, 'the connection back', 15_000);
    expect(await one.gauge()).toBe(1);
    expect(logged(info, 'shared again')).toHaveLength(1);
    // Counted in Redis again. (Redis may still have run the command that timed out, once it woke up.)
    const client = new Redis(redis.url);
    try {
      const before = Number(await client.get(`${REDIS_KEY_PREFIX}{key:stuck:default}:hits`));
      const after = await one.hit('key:stuck');
      expect(Number(await client.get(`${REDIS_KEY_PREFIX}{key:stuck:default}:hits`))).toBe(before + 1);
      expect(after.totalHits).toBe(before + 1);
    } finally {
      client.disconnect();
    }
  });

  it('quits at shutdown, safely twice, and without hanging on a Redis that does not answer', async () => {
    redis = await startRedisServer();
    const one = replica(redis.url);
    const two = replica(redis.url);
    await eventually(() => one.store.reachable && two.store.reachable, 'both connections ready');

    await Promise.all([one.store.onApplicationShutdown(), one.store.onApplicationShutdown()]);
    await one.store.onApplicationShutdown();
    expect(logged(warn, 'is unreachable')).toHaveLength(0);

    redis.pause();
    await two.store.onApplicationShutdown();
    redis.resume();
    const client = new Redis(redis.url);
    try {
      // Only this client is left: both stores have closed their connections.
      await eventually(
        async () =>
          String(await client.call('CLIENT', 'LIST'))
            .trim()
            .split('\n').length === 1,
        'the connections to close',
      );
    } finally {
      client.disconnect();
    }
  });

  it('never shows the password of the Redis URL', () => {
    expect(redisLocation('redis://user:s3cret@redis.internal:6379/2')).toBe('redis://redis.internal:6379/2');
    expect(redisLocation('rediss://:s3cret@redis.internal:6380')).toBe('rediss://redis.internal:6380');
  });
});

describe('the Redis connection in the application', () => {
  it('is opened with the application and quit when it closes', async () => {
    const redis = await startRedisServer();
    const client = new Redis(redis.url);
    const connections = async (): Promise<number> =>
      String(await client.call('CLIENT', 'LIST'))
        .trim()
        .split('\n').length;
    try {
      const running = await startApp({
        OLLAMA_URL: 'http://127.0.0.1:9',
        OLLAMA_AUTO_START: 'false',
        RATE_LIMIT_PER_MINUTE: '5',
        REDIS_URL: redis.url,
      });
      try {
        await eventually(async () => (await connections()) === 2, 'the application to connect');
      } finally {
        await running.close();
      }
      expect(await connections()).toBe(1);
      await running.close();
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });

  it('is not opened when nothing is rate limited', async () => {
    const redis = await startRedisServer();
    const client = new Redis(redis.url);
    try {
      const running = await startApp({
        OLLAMA_URL: 'http://127.0.0.1:9',
        OLLAMA_AUTO_START: 'false',
        RATE_LIMIT_PER_MINUTE: '0',
        REDIS_URL: redis.url,
      });
      const body = (await (await fetch(`${running.url}/health/ready`)).json()) as {
        details: { rateLimit: { status: string; store: string; message: string } };
      };
      expect(body.details.rateLimit).toEqual({
        status: 'up',
        store: 'memory',
        message: 'rate limiting is off (RATE_LIMIT_PER_MINUTE=0)',
      });
      expect(
        String(await client.call('CLIENT', 'LIST'))
          .trim()
          .split('\n'),
      ).toHaveLength(1);
      await running.close();
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});

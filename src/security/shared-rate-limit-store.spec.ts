import { MetricsService } from '../metrics/metrics.service';
import { openSharedRateLimitStore, SharedRateLimitStore } from './shared-rate-limit-store';

/** Set when the Redis implementation (and with it the Redis client) is loaded. */
let mockRedisStoreLoaded = false;
jest.mock('./redis-rate-limit-store', () => {
  mockRedisStoreLoaded = true;
  return jest.requireActual('./redis-rate-limit-store');
});

describe(openSharedRateLimitStore.name, () => {
  const metrics = new MetricsService();

  it('loads no Redis client without REDIS_URL, or when rate limiting is off', async () => {
    await expect(openSharedRateLimitStore(undefined, 60, metrics)).resolves.toBeNull();
    await expect(openSharedRateLimitStore('redis://127.0.0.1:6379', 0, metrics)).resolves.toBeNull();
    expect(mockRedisStoreLoaded).toBe(false);
  });

  it('opens the Redis store, unconnected until the module starts, when both are set', async () => {
    const store = await openSharedRateLimitStore('redis://user:secret@127.0.0.1:6379/2', 60, metrics);
    expect(mockRedisStoreLoaded).toBe(true);
    expect(store).toBeInstanceOf(SharedRateLimitStore);
    expect(store?.reachable).toBe(false);
    expect(store?.description).toBe(
      'rate-limit counters are per process: Redis at redis://127.0.0.1:6379/2 is not connected yet',
    );
    await (store as unknown as { onApplicationShutdown(): Promise<void> }).onApplicationShutdown();
  });
});

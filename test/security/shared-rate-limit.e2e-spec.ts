import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { LogRecord, ServiceProcess, ensureBuilt, eventually, startService } from '../support/service-process';
import { VALID_CHAT, postJson } from './support/requests';
import { RedisServer, startRedisServer } from './support/redis-server';

const API_KEY = 'shared-limit-key-0123456789';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const LIMIT = 10;

interface Readiness {
  status: number;
  rateLimit?: { status: string; store: string; message: string };
}

async function readiness(service: ServiceProcess): Promise<Readiness> {
  const response = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { details?: { rateLimit?: Readiness['rateLimit'] } };
  return { status: response.status, rateLimit: body.details?.rateLimit };
}

async function storeUpGauge(service: ServiceProcess): Promise<string | undefined> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return /^rate_limit_store_up (\S+)$/m.exec(text)?.[1];
}

/** The status of a chat request and its `Retry-After`, with the body read so the connection is free. */
async function chat(service: ServiceProcess): Promise<{ status: number; retryAfter: string | null }> {
  const response = await postJson(`${service.url}/chat`, VALID_CHAT, AUTH);
  await response.arrayBuffer();
  return { status: response.status, retryAfter: response.headers.get('retry-after') };
}

function linesSaying(service: ServiceProcess, text: string): LogRecord[] {
  return service.logs.filter((record) => typeof record.msg === 'string' && record.msg.includes(text));
}

describe('one rate limit across replicas through Redis', () => {
  const emulator = new OllamaEmulator();
  let redis: RedisServer | undefined;
  let dir: string;
  let services: ServiceProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'gateway-shared-limit-'));
    await emulator.start(0);
    redis = await startRedisServer();
    services = await Promise.all(
      ['a', 'b'].map((name) =>
        startService({
          OLLAMA_URL: emulator.url,
          OLLAMA_AUTO_START: 'false',
          OLLAMA_PID_FILE: join(dir, `ollama-${name}.pid`),
          API_KEYS: API_KEY,
          RATE_LIMIT_PER_MINUTE: String(LIMIT),
          REDIS_URL: redis!.url,
        }),
      ),
    );
    for (const service of services) {
      await eventually(async () => {
        const ready = await readiness(service);
        return ready.status === 200 && ready.rateLimit?.store === 'redis';
      }, `${service.url} ready, its counters in Redis`);
    }
  }, 240_000);

  afterAll(async () => {
    for (const service of services) {
      expect(await service.stop()).toEqual({ code: 0, signal: null });
    }
    await redis?.stop();
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets a key make RATE_LIMIT_PER_MINUTE requests in all, however they are spread over the replicas', async () => {
    const answers = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      answers.push(await chat(services[i % 2]));
    }
    expect(answers.map(({ status }) => status)).toEqual([...Array<number>(LIMIT).fill(200), 429, 429]);
    for (const { retryAfter } of answers.slice(LIMIT)) {
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    }
    for (const service of services) {
      expect(await storeUpGauge(service)).toBe('1');
      expect((await readiness(service)).rateLimit).toEqual({
        status: 'up',
        store: 'redis',
        message: `rate-limit counters are shared through Redis at ${redis!.url}`,
      });
    }
  });

  it('keeps serving with a per-process limit when Redis goes away, says so once, and stays ready', async () => {
    const port = redis!.port;
    await redis!.stop();
    for (const service of services) {
      await eventually(async () => (await storeUpGauge(service)) === '0', `${service.url} rate_limit_store_up 0`);
    }

    // The counts in Redis are out of reach: each process starts its own from zero.
    const [a, b] = services;
    const fromA = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      fromA.push((await chat(a)).status);
    }
    expect(fromA).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect((await chat(b)).status).toBe(200);

    for (const service of services) {
      const ready = await readiness(service);
      expect(ready.status).toBe(200);
      expect(ready.rateLimit).toEqual({
        status: 'up',
        store: 'memory',
        message: `rate-limit counters are per process: Redis at redis://127.0.0.1:${port} is unreachable`,
      });
    }

    redis = await startRedisServer(port);
    for (const service of services) {
      await eventually(async () => (await storeUpGauge(service)) === '1', `${service.url} rate_limit_store_up 1`);
      expect((await readiness(service)).rateLimit?.store).toBe('redis');
    }
    for (const service of services) {
      // Reconnection attempts failed many times meanwhile; the log says it once, and once when it is back.
      expect(linesSaying(service, 'is unreachable')).toHaveLength(1);
      expect(linesSaying(service, 'rate-limit counters are shared again through Redis')).toHaveLength(1);
    }
    // Shared again (with a new, empty Redis): one count across both replicas.
    const spread = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      spread.push((await chat(services[i % 2])).status);
    }
    expect(spread).toEqual([...Array<number>(LIMIT).fill(200), 429, 429]);
  });
});

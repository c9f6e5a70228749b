import { setTimeout as sleep } from 'node:timers/promises';
import { RECLAIM_CHECK_MS } from '../../src/runtime/idle-heap-reclaimer';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { postJson } from '../support/http';
import { metricValue } from '../support/metrics';
import { ensureBuilt, LogRecord, ServiceProcess, startService } from '../support/service-process';

/** The first idle look after the load is at most two periods away. */
const RECLAIM_WITHIN_MS = 2 * RECLAIM_CHECK_MS + 5_000;
const LOAD_MS = 4_000;
const CONNECTIONS = 32;

interface Reclaim {
  fromMiB: number;
  toMiB: number;
}

function reclaimOf(record: LogRecord): Reclaim | undefined {
  const match = /^idle: full collections took the heap from ([\d.]+) to ([\d.]+) MiB$/.exec(record.msg ?? '');
  return match === null ? undefined : { fromMiB: Number(match[1]), toMiB: Number(match[2]) };
}

function reclaims(service: ServiceProcess): Reclaim[] {
  return service.logs.map(reclaimOf).filter((reclaim): reclaim is Reclaim => reclaim !== undefined);
}

/** `CONNECTIONS` clients sending `/chat` requests back to back for `LOAD_MS`; resolves with the count. */
async function load(url: string): Promise<number> {
  const until = Date.now() + LOAD_MS;
  let answered = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        const response = await postJson(`${url}/chat`, { message: 'What is duration risk?' });
        expect(response.status).toBe(200);
        await response.arrayBuffer();
        answered += 1;
      }
    }),
  );
  return answered;
}

describe('memory of a busy period given back when the service is idle', () => {
  const emulator = new OllamaEmulator({ tokenDelayMs: 0 });
  let service: ServiceProcess;

  beforeAll(async () => {
    ensureBuilt();
    await emulator.start(0);
    service = await startService({
      OLLAMA_URL: emulator.url,
      OLLAMA_AUTO_START: 'false',
      LOG_LEVEL: 'debug',
      LLM_MAX_CONCURRENCY: String(CONNECTIONS),
    });
  }, 300_000);

  afterAll(async () => {
    expect(await service.stop()).toEqual({ code: 0, signal: null });
    await emulator.stop();
  });

  it('leaves an idle heap alone, and collects the garbage of a load once the load is over', async () => {
    // The first look (10 s after start) only takes the heap's size; an idle heap does not grow 4 MiB.
    await sleep(RECLAIM_CHECK_MS + 2_000);
    expect(reclaims(service)).toEqual([]);

    expect(await load(service.url)).toBeGreaterThan(1_000);
    const reclaim = reclaimOf(await service.waitForLog((record) => reclaimOf(record) !== undefined, RECLAIM_WITHIN_MS));
    expect(reclaim!.toMiB).toBeLessThan(reclaim!.fromMiB - 4);
    expect(reclaims(service)).toHaveLength(1);
    // What the service reports of its heap agrees: the memory of the load is gone.
    const heapMiB = (await metricValue(service.url, 'nodejs_heap_size_total_bytes')) / (1024 * 1024);
    expect(heapMiB).toBeLessThan(reclaim!.fromMiB - 4);
  }, 90_000);
});

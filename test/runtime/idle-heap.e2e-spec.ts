import { setTimeout as sleep } from 'node:timers/promises';
import { RECLAIM_CHECK_MS } from '../../src/runtime/idle-heap-reclaimer';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { postJson } from '../support/http';
import { metricValue } from '../support/metrics';
import { ensureBuilt, LogRecord, ServiceProcess, startService } from '../support/service-process';

/** The first idle look after the load is at most two periods away. */
const RECLAIM_WITHIN_MS = 2 * RECLAIM_CHECK_MS + 5_000;
const CONNECTIONS = 32;
const BATCH = 500;
const MAX_REQUESTS = 20_000;
const MIB = 1024 * 1024;

/** One reclaim's log line: the heap's committed size and the part of it in use, before and after. */
interface Reclaim {
  fromMiB: number;
  fromInUseMiB: number;
  toMiB: number;
  toInUseMiB: number;
}

const RECLAIM_LINE =
  /^idle: full collections took the heap from ([\d.]+) MiB \(([\d.]+) in use\) to ([\d.]+) MiB \(([\d.]+) in use\)$/;

function reclaimOf(record: LogRecord): Reclaim | undefined {
  const match = RECLAIM_LINE.exec(record.msg ?? '');
  if (match === null) {
    return undefined;
  }
  const [fromMiB, fromInUseMiB, toMiB, toInUseMiB] = match.slice(1).map(Number);
  return { fromMiB, fromInUseMiB, toMiB, toInUseMiB };
}

function reclaims(service: ServiceProcess): Reclaim[] {
  return service.logs.map(reclaimOf).filter((reclaim): reclaim is Reclaim => reclaim !== undefined);
}

/** The heap the service reports in `/metrics`, MiB. */
async function heapMiB(url: string): Promise<number> {
  return (await metricValue(url, 'nodejs_heap_size_total_bytes')) / MIB;
}

/** `CONNECTIONS` clients sending `count` `/chat` requests in all, back to back. */
async function load(url: string, count: number): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < count) {
        sent += 1;
        const response = await postJson(`${url}/chat`, { message: 'What is duration risk?' });
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }
    }),
  );
}

/**
 * Loads the service in batches until the heap it reports has grown by `growthMiB`: a busy period of
 * the size the reclaimer answers, however fast this machine is (500 requests here).
 */
async function loadUntilHeapGrew(url: string, growthMiB: number): Promise<void> {
  const start = await heapMiB(url);
  for (let sent = BATCH; sent <= MAX_REQUESTS; sent += BATCH) {
    await load(url, BATCH);
    if ((await heapMiB(url)) >= start + growthMiB) {
      return;
    }
  }
  throw new Error(`the heap did not grow ${growthMiB} MiB from ${start.toFixed(1)} MiB in ${MAX_REQUESTS} requests`);
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
    // The first look (10 s after start) collects only a heap that holds 4 MiB more than it uses: the
    // garbage of a start-up that V8 has not collected yet. An idle heap then does not grow 4 MiB.
    await sleep(2 * RECLAIM_CHECK_MS + 2_000);
    const atStart = reclaims(service);
    expect(atStart.length).toBeLessThanOrEqual(1);
    for (const reclaim of atStart) {
      expect(reclaim.fromMiB - reclaim.fromInUseMiB).toBeGreaterThanOrEqual(4);
      expect(reclaim.toInUseMiB).toBeLessThan(reclaim.fromInUseMiB);
    }

    await loadUntilHeapGrew(service.url, 6);
    const collected = (): boolean => reclaims(service).length > atStart.length;
    await service.waitForLog(collected, RECLAIM_WITHIN_MS);
    const reclaim = reclaims(service).at(-1);
    expect(reclaim!.toMiB).toBeLessThan(reclaim!.fromMiB - 4);
    expect(reclaims(service)).toHaveLength(atStart.length + 1);
    // What the service reports of its heap agrees: the memory of the load is gone.
    expect(await heapMiB(service.url)).toBeLessThan(reclaim!.fromMiB - 4);
  }, 120_000);
});

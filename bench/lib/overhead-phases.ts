/** The phases of the overhead benchmark besides the plain load: cold start, idle windows, routes. */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BenchClient } from './http';
import { measureLoad } from './measure';
import { overheadOf, type ColdStart, type IdleWindow, type LoadPoint, type RoutePoint } from './overhead-report';
import { ManagedProcess, type EmulatorProcess, type ServiceProcess } from './processes';
import { print } from './results';
import { round, roundSummary, summarize } from './stats';
import { embeddingsRoute, MESSAGE, routePair } from './targets';

/** Unmeasured requests per target before the sequential and streaming measurements. */
export const WARM_REQUESTS = 20;
const READY_DEADLINE_MS = 120_000;

export interface RouteSettings {
  /** A model the service serves for `/v1/embeddings`; '' for none. */
  embeddingModel: string;
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
}

/**
 * Polls readiness every 10 ms, sends the first chat the moment it is ready, then `samples` more.
 * The benchmark's own request code runs first against the emulator (`/api/show`, which changes
 * nothing there), so that its first-call costs do not count as the service's.
 */
export async function measureColdStart(
  service: ServiceProcess,
  emulator: EmulatorProcess,
  samples: number,
): Promise<ColdStart> {
  const warmer = new BenchClient(emulator.url);
  try {
    for (let i = 0; i < WARM_REQUESTS; i++) {
      await warmer.postJson('/api/show', { model: 'llama3.1:latest' });
    }
  } finally {
    warmer.close();
  }
  const client = new BenchClient(service.url);
  try {
    const started = Date.now();
    for (;;) {
      if (!service.isRunning) {
        throw new Error('the service exited before it was ready');
      }
      const { status } = await client.get('/health/ready');
      if (status === 200) {
        break;
      }
      if (status === 404) {
        throw new Error('the service has no GET /health/ready');
      }
      if (Date.now() - started > READY_DEADLINE_MS) {
        throw new Error(`/health/ready did not answer 200 within ${READY_DEADLINE_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const readyAfterListenMs = Date.now() - started;
    const idleRssAtReadyMiB = service.rssMiB();
    const send = async (): Promise<number> => {
      const response = await client.postJson('/chat', { message: MESSAGE });
      if (response.status !== 200) {
        throw new Error(`POST /chat answered ${response.status}: ${response.body.slice(0, 500)}`);
      }
      return response.ms;
    };
    const firstMs = await send();
    const steady: number[] = [];
    for (let i = 0; i < samples; i++) {
      steady.push(await send());
    }
    const summary = summarize(steady);
    return {
      readyAfterListenMs,
      firstMs: round(firstMs),
      steadyMedianMs: round(summary.median),
      ratio: round(firstMs / summary.median),
      steady: roundSummary(summary),
      idleRssAtReadyMiB: round(idleRssAtReadyMiB, 1),
    };
  } finally {
    client.close();
  }
}

export function newestProfile(dir: string): string | undefined {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(dir, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

/** Seconds the reference process gets to start before it is measured. */
const SLEEPER_START_MS = 1_000;

/**
 * `seconds` without traffic: RSS sampled once a second (V8 gives back start-up garbage only after a
 * while, at a moment of its choosing, so the lowest sample counts), and the CPU time of every second.
 * Beside it, the same is measured of a `node` process that wakes 10 times a second and does nothing
 * else: what this machine charges for waking a sleeping process at that moment, which varies from hour
 * to hour (an idle service wakes for its event-loop samplers and its Ollama probe).
 */
export async function idleWindow(service: ServiceProcess, seconds: number): Promise<IdleWindow> {
  const sleeper = new ManagedProcess(
    'sleeper',
    // It ends by itself a minute after the window, should this process be killed meanwhile.
    spawn(process.execPath, ['-e', `setInterval(() => {}, 100); setTimeout(process.exit, ${(seconds + 60) * 1000})`], {
      detached: true,
      stdio: 'ignore',
    }),
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, SLEEPER_START_MS));
    const rss: number[] = [];
    const cpu: number[] = [];
    const sleeperCpu: number[] = [];
    const startedAt = performance.now();
    const cpuAtStart = service.cpuMs();
    let last = cpuAtStart;
    let sleeperLast = sleeper.cpuMs();
    for (let i = 0; i < seconds; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      rss.push(service.rssMiB());
      const now = service.cpuMs();
      cpu.push(now - last);
      last = now;
      const sleeperNow = sleeper.cpuMs();
      sleeperCpu.push(sleeperNow - sleeperLast);
      sleeperLast = sleeperNow;
    }
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    return {
      seconds,
      rssMinMiB: round(Math.min(...rss), 1),
      cpuMsPerSecond: round((last - cpuAtStart) / elapsedSeconds, 2),
      cpuMsPerSecondMedian: round(summarize(cpu).median, 2),
      sleeperCpuMsPerSecondMedian: round(summarize(sleeperCpu).median, 3),
    };
  } finally {
    await sleeper.stop();
  }
}

export function loadPoint(results: Record<string, LoadResultOf>, service: string, concurrency: number): LoadPoint {
  const d = results['direct'];
  const s = results[service];
  return { concurrency, direct: d, service: s, overhead: overheadOf(d, s), throughputRatio: round(s.rps / d.rps, 4) };
}

type LoadResultOf = Awaited<ReturnType<typeof measureLoad>>[string];

/** `/v1/embeddings` and `/api/chat` through the service against the same requests sent direct. */
export async function measureRoutes(
  settings: RouteSettings,
  service: ServiceProcess,
  emulator: EmulatorProcess,
): Promise<{ routes: RoutePoint[]; notMeasured: Array<{ route: string; note: string }> }> {
  const candidates = [
    embeddingsRoute(settings.embeddingModel),
    {
      path: '/api/chat',
      body: { model: 'llama3.1:latest', messages: [{ role: 'user', content: MESSAGE }], stream: false },
      endpoint: 'chat',
      upstreamPath: '/api/chat',
    },
  ];
  const routes: RoutePoint[] = [];
  const notMeasured: Array<{ route: string; note: string }> = [];
  for (const candidate of candidates) {
    if (candidate.path === '/v1/embeddings' && settings.embeddingModel === '') {
      notMeasured.push({ route: candidate.path, note: 'no embedding model (--embedding-model)' });
      continue;
    }
    const { pair, note } = await routePair(service, emulator, candidate);
    if (pair === undefined) {
      notMeasured.push({ route: candidate.path, note: note ?? 'not answered' });
      continue;
    }
    const connections = 16;
    const results = await measureLoad([pair.direct, pair.service], {
      connections,
      rounds: settings.rounds,
      seconds: settings.durationSeconds,
      warmupSeconds: settings.warmupSeconds,
      onRun: (target, roundIndex, run) =>
        print(
          `  ${pair.name} c=${connections} round ${roundIndex + 1} ${target.name}: ${run.latencies.length} responses`,
        ),
    });
    routes.push({ route: pair.name, ...loadPoint(results, pair.name, connections) });
  }
  return { routes, notMeasured };
}

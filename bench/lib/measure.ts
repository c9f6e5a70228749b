/**
 * Measurements over several targets (the emulator directly, the service, a patched service ...),
 * always interleaved: request by request for sequential measurements, run by run (with the order
 * rotating every round) for load, so that whatever else the machine does hits every target alike.
 * Each target also reports the CPU time its processes spent per request.
 */
import { BenchClient } from './http';
import { runLoad, type LoadRun } from './load';
import type { ManagedProcess } from './processes';
import { round, roundSummary, summarize, type Summary } from './stats';

export interface Target {
  name: string;
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Path and JSON body of a non-streamed request. */
  path: string;
  body: unknown;
  /** The same request, streamed, and when its first piece of text has fully arrived. */
  streamBody?: unknown;
  isFirstPiece?: (textSoFar: string) => boolean;
  /** Validates a streamed answer once it has ended; throws when it is incomplete. */
  checkStream?: (text: string) => void;
  /** Processes whose CPU time per request is reported for this target. */
  processes: ManagedProcess[];
}

export interface SequentialResult {
  latency: Summary;
  /** Milliseconds of CPU time per request, by process name. */
  cpuMsPerRequest: Record<string, number>;
}

export interface LoadResult {
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  requests: number;
  errors: number;
  cpuMsPerRequest: Record<string, number>;
}

function expectOk(target: Target, status: number, body: string): void {
  if (status !== 200) {
    throw new Error(`${target.name} answered ${status}: ${body.slice(0, 500)}`);
  }
}

class CpuMeter {
  private readonly totals = new Map<string, number>();
  private requests = 0;

  constructor(private readonly processes: ManagedProcess[]) {}

  /** Runs `work` and charges the CPU time of every process meanwhile to the requests it made. */
  async measure<T>(work: () => Promise<T>, requestsOf: (result: T) => number = () => 1): Promise<T> {
    const before = this.processes.map((p) => p.cpuMs());
    const result = await work();
    this.processes.forEach((p, i) => {
      this.totals.set(p.name, (this.totals.get(p.name) ?? 0) + p.cpuMs() - (before[i] ?? 0));
    });
    this.requests += requestsOf(result);
    return result;
  }

  perRequest(): Record<string, number> {
    return Object.fromEntries([...this.totals].map(([name, ms]) => [name, round(ms / Math.max(this.requests, 1))]));
  }
}

/** `count` requests per target, one at a time, target after target, after `warm` unmeasured rounds. */
export async function measureSequential(
  targets: Target[],
  count: number,
  warm: number,
): Promise<Record<string, SequentialResult>> {
  const clients = targets.map((t) => new BenchClient(t.url));
  const meters = targets.map((t) => new CpuMeter(t.processes));
  const latencies = targets.map((): number[] => []);
  try {
    for (let i = 0; i < warm + count; i++) {
      for (const [index, target] of targets.entries()) {
        const client = clients[index];
        const send = (): ReturnType<BenchClient['postJson']> => client.postJson(target.path, target.body);
        const response = i < warm ? await send() : await meters[index].measure(send);
        expectOk(target, response.status, response.body);
        if (i >= warm) {
          latencies[index].push(response.ms);
        }
      }
    }
  } finally {
    clients.forEach((c) => c.close());
  }
  return Object.fromEntries(
    targets.map((t, i) => [
      t.name,
      { latency: roundSummary(summarize(latencies[i])), cpuMsPerRequest: meters[i].perRequest() },
    ]),
  );
}

/** Time to the first piece of streamed text, `count` per target, interleaved, after `warm` rounds. */
export async function measureFirstPiece(
  targets: Target[],
  count: number,
  warm: number,
): Promise<Record<string, Summary>> {
  const clients = targets.map((t) => new BenchClient(t.url));
  const times = targets.map((): number[] => []);
  try {
    for (let i = 0; i < warm + count; i++) {
      for (const [index, target] of targets.entries()) {
        if (target.streamBody === undefined || target.isFirstPiece === undefined) {
          throw new Error(`${target.name} has no streamed request`);
        }
        const response = await clients[index].postStream(target.path, target.streamBody, target.isFirstPiece);
        expectOk(target, response.status, response.body);
        target.checkStream?.(response.body);
        if (Number.isNaN(response.firstPieceMs)) {
          throw new Error(`${target.name}'s stream carried no text: ${response.body.slice(0, 300)}`);
        }
        if (i >= warm) {
          times[index].push(response.firstPieceMs);
        }
      }
    }
  } finally {
    clients.forEach((c) => c.close());
  }
  return Object.fromEntries(targets.map((t, i) => [t.name, roundSummary(summarize(times[i]))]));
}

export interface LoadSettings {
  connections: number;
  rounds: number;
  /** Measured seconds per run. */
  seconds: number;
  /** Unmeasured seconds at the start of every run. */
  warmupSeconds: number;
  /** Called before each run; the function it returns is called after it (e.g. to sample memory). */
  around?: (target: Target) => (() => void) | undefined;
  /** Called after each run, for progress output. */
  onRun?: (target: Target, round: number, run: LoadRun) => void;
}

/**
 * `rounds` autocannon runs per target at `connections`; each round runs every target once, the
 * order rotating from round to round. Latencies of a target's runs are merged before percentiles.
 */
export async function measureLoad(targets: Target[], settings: LoadSettings): Promise<Record<string, LoadResult>> {
  const runs = targets.map((): LoadRun[] => []);
  const meters = targets.map((t) => new CpuMeter(t.processes));
  for (let round = 0; round < settings.rounds; round++) {
    const order = targets.map((_, i) => (i + round) % targets.length);
    for (const index of order) {
      const target = targets[index];
      const after = settings.around?.(target);
      try {
        const run = await meters[index].measure(
          () =>
            runLoad(
              { url: `${target.url}${target.path}`, body: target.body },
              settings.connections,
              settings.seconds,
              settings.warmupSeconds,
            ),
          (r) => r.responses,
        );
        runs[index].push(run);
        settings.onRun?.(target, round, run);
      } finally {
        after?.();
      }
    }
  }
  return Object.fromEntries(
    targets.map((t, i) => {
      const targetRuns = runs[i];
      const latencies = targetRuns.flatMap((r) => r.latencies);
      const seconds = targetRuns.reduce((sum, r) => sum + r.seconds, 0);
      const summary = summarize(latencies);
      const result: LoadResult = {
        p50: round(summary.p50),
        p99: round(summary.p99),
        mean: round(summary.mean),
        rps: round(latencies.length / seconds, 1),
        requests: latencies.length,
        errors: targetRuns.reduce((sum, r) => sum + r.errors, 0),
        cpuMsPerRequest: meters[i].perRequest(),
      };
      return [t.name, result];
    }),
  );
}

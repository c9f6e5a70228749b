/**
 * What the service costs on top of Ollama. Starts the emulator with a fixed latency (about 50 ms for
 * a non-streamed chat) in its own process, builds and starts the service in front of it, and measures
 * direct-to-emulator against through-the-service, interleaved so that drift hits both:
 *   - cold start: the first /chat once /health/ready turns 200, against the median of the next ones;
 *   - sequential requests, one at a time, alternating direct and service;
 *   - streaming time to first token (NDJSON first line against the first SSE delta);
 *   - closed-loop load with autocannon at several concurrencies (rounds alternate the order);
 *   - the service's RSS idle and under the heaviest load.
 * Writes bench/results/overhead-<date>.json and docs/benchmarks/overhead.svg.
 *
 *   node --require ./test/support/register-ts.js bench/overhead.ts [--duration 5] [--rounds 2] [--cpu-prof]
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { summarizeProfile } from './lib/cpuprofile';
import { BenchClient } from './lib/http';
import { runLoad, type LoadRun } from './lib/load';
import { LoadSampler, machineFacts, waitForQuiet } from './lib/machine';
import { ProcessGroup, REPO_ROOT, type EmulatorProcess, type ServiceProcess } from './lib/processes';
import { formatTable, print, writeResultJson } from './lib/results';
import { defaultWorkDir, startStack, stopOnSignal } from './lib/stack';
import { round, roundSummary, summarize, type Summary } from './lib/stats';
import { renderBarChart } from './lib/svg-chart';

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/overhead.ts [options]
  --upstream-ms N     latency of a non-streamed chat at the emulator (default 50)
  --tokens N          tokens in the emulator's fixed reply; each takes upstream-ms / N (default 5)
  --sequential N      sequential requests per target (default 200)
  --ttft N            streamed requests per target for time to first token (default 100)
  --concurrency LIST  autocannon connections, comma-separated (default 1,16,64)
  --duration S        measured seconds per autocannon run (default 5)
  --warmup S          unmeasured seconds at the start of each run (default 1)
  --rounds N          runs per target and concurrency, alternating which goes first (default 2)
  --cold-load-ms N    the emulator's model load time, so that a cold model would show (default 1500)
  --cold-samples N    requests after the first one that make the steady state (default 20)
  --repo DIR          build the service from this tree (default: this repository)
  --work-dir DIR      build, service log and profiles (default: <tmp>/llm-gateway-bench)
  --cpu-prof          run the service with --cpu-prof and summarise the profile at the end
  --wait-quiet S      first wait up to S seconds for the 1-minute load average to stay below 1 for 60 s
  --label TEXT        stored with the results (e.g. "baseline", "keep-alive patch")
  --out FILE          results file (default bench/results/overhead-<date>.json)
  --chart FILE        chart file (default docs/benchmarks/overhead.svg); --no-chart to skip it`;

const MESSAGE = 'Explain duration risk in two sentences.';
/** Unmeasured requests per target before the sequential and streaming measurements. */
const WARM_REQUESTS = 20;
const READY_DEADLINE_MS = 120_000;
const RSS_SAMPLE_MS = 250;

interface Settings {
  upstreamMs: number;
  tokens: number;
  sequential: number;
  ttft: number;
  concurrency: number[];
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  coldLoadMs: number;
  coldSamples: number;
  repo: string;
  workDir: string;
  cpuProf: boolean;
  waitQuietSeconds: number;
  label: string;
  out?: string;
  chart?: string;
}

function positiveInt(name: string, text: string, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      'upstream-ms': { type: 'string', default: '50' },
      tokens: { type: 'string', default: '5' },
      sequential: { type: 'string', default: '200' },
      ttft: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '1,16,64' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '2' },
      'cold-load-ms': { type: 'string', default: '1500' },
      'cold-samples': { type: 'string', default: '20' },
      repo: { type: 'string', default: REPO_ROOT },
      'work-dir': { type: 'string', default: defaultWorkDir() },
      'cpu-prof': { type: 'boolean', default: false },
      'wait-quiet': { type: 'string', default: '0' },
      label: { type: 'string', default: '' },
      out: { type: 'string' },
      chart: { type: 'string' },
      'no-chart': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return undefined;
  }
  return {
    upstreamMs: positiveInt('upstream-ms', values['upstream-ms']),
    tokens: positiveInt('tokens', values.tokens),
    sequential: positiveInt('sequential', values.sequential),
    ttft: positiveInt('ttft', values.ttft),
    concurrency: values.concurrency.split(',').map((c) => positiveInt('concurrency', c.trim())),
    durationSeconds: positiveInt('duration', values.duration),
    warmupSeconds: positiveInt('warmup', values.warmup, 0),
    rounds: positiveInt('rounds', values.rounds),
    coldLoadMs: positiveInt('cold-load-ms', values['cold-load-ms'], 0),
    coldSamples: positiveInt('cold-samples', values['cold-samples']),
    repo: values.repo,
    workDir: values['work-dir'],
    cpuProf: values['cpu-prof'],
    waitQuietSeconds: positiveInt('wait-quiet', values['wait-quiet'], 0),
    label: values.label,
    out: values.out,
    chart: values['no-chart'] ? undefined : (values.chart ?? join(REPO_ROOT, 'docs', 'benchmarks', 'overhead.svg')),
  };
}

/** `n` tokens as the emulator cuts them (short words with their leading space). */
function fixedReply(n: number): string {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'word' : ' word')).join('');
}

function expectOk(what: string, status: number, body: string): void {
  if (status !== 200) {
    throw new Error(`${what} answered ${status}: ${body.slice(0, 500)}`);
  }
}

interface ColdStart {
  /** From the service listening to /health/ready answering 200. */
  readyAfterListenMs: number;
  firstMs: number;
  steadyMedianMs: number;
  ratio: number;
  steady: Summary;
  idleRssAtReadyMiB: number;
}

async function measureColdStart(service: ServiceProcess, client: BenchClient, samples: number): Promise<ColdStart> {
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
  const first = await client.postJson('/chat', { message: MESSAGE });
  expectOk('the first POST /chat', first.status, first.body);
  const steady: number[] = [];
  for (let i = 0; i < samples; i++) {
    const next = await client.postJson('/chat', { message: MESSAGE });
    expectOk('POST /chat', next.status, next.body);
    steady.push(next.ms);
  }
  const summary = summarize(steady);
  return {
    readyAfterListenMs,
    firstMs: round(first.ms),
    steadyMedianMs: round(summary.median),
    ratio: round(first.ms / summary.median),
    steady: roundSummary(summary),
    idleRssAtReadyMiB: round(idleRssAtReadyMiB, 1),
  };
}

/** The body the service sent for its last chat, so that direct requests are the same request. */
async function upstreamChatBody(emulator: EmulatorProcess): Promise<Record<string, unknown>> {
  const stats = await emulator.stats();
  const last = stats.lastRequests.filter((r) => r.endpoint === 'chat').pop()?.body;
  if (typeof last !== 'object' || last === null) {
    throw new Error('the emulator saw no chat request from the service');
  }
  return last as Record<string, unknown>;
}

interface Pair {
  direct: Summary;
  service: Summary;
  overhead: { p50: number; p99: number; mean: number };
}

function pair(direct: number[], service: number[]): Pair {
  const d = summarize(direct);
  const s = summarize(service);
  return {
    direct: roundSummary(d),
    service: roundSummary(s),
    overhead: { p50: round(s.p50 - d.p50), p99: round(s.p99 - d.p99), mean: round(s.mean - d.mean) },
  };
}

async function measureSequential(
  direct: BenchClient,
  service: BenchClient,
  directBody: unknown,
  count: number,
): Promise<Pair> {
  const d: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < WARM_REQUESTS + count; i++) {
    const a = await direct.postJson('/api/chat', directBody);
    expectOk('POST /api/chat (direct)', a.status, a.body);
    const b = await service.postJson('/chat', { message: MESSAGE });
    expectOk('POST /chat', b.status, b.body);
    if (i >= WARM_REQUESTS) {
      d.push(a.ms);
      s.push(b.ms);
    }
  }
  return pair(d, s);
}

function ndjsonFirstLine(text: string): boolean {
  return text.includes('\n');
}

function sseFirstDelta(text: string): boolean {
  const at = text.indexOf('data: {"delta"');
  return at >= 0 && text.indexOf('\n\n', at) >= 0;
}

async function measureTimeToFirstToken(
  direct: BenchClient,
  service: BenchClient,
  directBody: Record<string, unknown>,
  count: number,
): Promise<Pair> {
  const d: number[] = [];
  const s: number[] = [];
  const streamed = { ...directBody, stream: true };
  for (let i = 0; i < WARM_REQUESTS + count; i++) {
    const a = await direct.postStream('/api/chat', streamed, ndjsonFirstLine);
    expectOk('streamed POST /api/chat (direct)', a.status, a.body);
    const b = await service.postStream('/chat', { message: MESSAGE, stream: true }, sseFirstDelta);
    expectOk('streamed POST /chat', b.status, b.body);
    if (!b.body.includes('event: done')) {
      throw new Error(`the service's stream ended without event: done: ${b.body.slice(-300)}`);
    }
    if (i >= WARM_REQUESTS) {
      d.push(a.firstPieceMs);
      s.push(b.firstPieceMs);
    }
  }
  return pair(d, s);
}

interface LoadPoint {
  concurrency: number;
  direct: { p50: number; p99: number; mean: number; rps: number; requests: number; errors: number };
  service: { p50: number; p99: number; mean: number; rps: number; requests: number; errors: number };
  overhead: { p50: number; p99: number };
  throughputRatio: number;
}

function merge(runs: LoadRun[]): LoadPoint['direct'] {
  const latencies = runs.flatMap((r) => r.latencies);
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  const summary = summarize(latencies);
  return {
    p50: round(summary.p50),
    p99: round(summary.p99),
    mean: round(summary.mean),
    rps: round(latencies.length / seconds, 1),
    requests: latencies.length,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

interface RssUnderLoad {
  maxMiB: number;
  meanMiB: number;
  samples: number;
}

async function measureLoad(
  settings: Settings,
  emulatorUrl: string,
  service: ServiceProcess,
  directBody: unknown,
): Promise<{ points: LoadPoint[]; rss: RssUnderLoad }> {
  const heaviest = Math.max(...settings.concurrency);
  const rss: number[] = [];
  const points: LoadPoint[] = [];
  for (const connections of settings.concurrency) {
    const runs: Record<'direct' | 'service', LoadRun[]> = { direct: [], service: [] };
    for (let round = 0; round < settings.rounds; round++) {
      const order: Array<'direct' | 'service'> = round % 2 === 0 ? ['direct', 'service'] : ['service', 'direct'];
      for (const target of order) {
        const sampler =
          target === 'service' && connections === heaviest
            ? setInterval(() => rss.push(service.rssMiB()), RSS_SAMPLE_MS)
            : undefined;
        try {
          const run = await runLoad(
            target === 'direct'
              ? { url: `${emulatorUrl}/api/chat`, body: directBody }
              : { url: `${service.url}/chat`, body: { message: MESSAGE } },
            connections,
            settings.durationSeconds,
            settings.warmupSeconds,
          );
          runs[target].push(run);
          print(
            `  c=${connections} round ${round + 1} ${target}: ${run.latencies.length} responses, ${run.errors} errors`,
          );
        } finally {
          clearInterval(sampler);
        }
      }
    }
    const direct = merge(runs.direct);
    const viaService = merge(runs.service);
    points.push({
      concurrency: connections,
      direct,
      service: viaService,
      overhead: { p50: round(viaService.p50 - direct.p50), p99: round(viaService.p99 - direct.p99) },
      throughputRatio: round(viaService.rps / direct.rps, 4),
    });
  }
  return {
    points,
    rss: {
      maxMiB: round(Math.max(...rss), 1),
      meanMiB: round(rss.reduce((sum, v) => sum + v, 0) / rss.length, 1),
      samples: rss.length,
    },
  };
}

function newestProfile(dir: string): string | undefined {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(dir, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

function chart(settings: Settings, sequential: Pair, points: LoadPoint[], footnote: string): string {
  const groups = [
    { label: 'sequential', d: sequential.direct, s: sequential.service },
    ...points.map((p) => ({ label: `c=${p.concurrency}`, d: p.direct, s: p.service })),
  ];
  return renderBarChart(
    [
      {
        title: `Latency: direct vs through the service (upstream ≈ ${settings.upstreamMs} ms)`,
        yLabel: 'latency (ms)',
        xLabel: 'load (autocannon connections)',
        series: [
          { name: 'direct p50', color: '#9ecae1' },
          { name: 'service p50', color: '#fdae6b' },
          { name: 'direct p99', color: '#3182bd' },
          { name: 'service p99', color: '#e6550d' },
        ],
        groups: groups.map((g) => ({ label: g.label, values: [g.d.p50, g.s.p50, g.d.p99, g.s.p99] })),
      },
      {
        title: 'Overhead: service − direct',
        yLabel: 'added latency (ms)',
        xLabel: 'load (autocannon connections)',
        series: [
          { name: 'p50', color: '#fdae6b' },
          { name: 'p99', color: '#e6550d' },
        ],
        groups: groups.map((g) => ({ label: g.label, values: [g.s.p50 - g.d.p50, g.s.p99 - g.d.p99] })),
      },
    ],
    footnote,
  );
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  if (settings === undefined) {
    return;
  }
  const machine = machineFacts();
  let quiet: boolean | undefined;
  if (settings.waitQuietSeconds > 0) {
    print(`waiting up to ${settings.waitQuietSeconds} s for the load average to stay below 1 for 60 s ...`);
    quiet = await waitForQuiet(1, 60, settings.waitQuietSeconds);
    print(quiet ? 'quiet' : `still busy (load ${loadavg()[0]?.toFixed(2)}); measuring anyway`);
  }
  const load = new LoadSampler();
  load.start();
  const group = new ProcessGroup();
  stopOnSignal(group);
  const profileDir = join(settings.workDir, 'profiles');
  if (settings.cpuProf) {
    mkdirSync(profileDir, { recursive: true });
  }
  try {
    print(`building the service from ${settings.repo} into ${settings.workDir} ...`);
    const { emulator, service } = await startStack(group, {
      repo: settings.repo,
      workDir: settings.workDir,
      emulator: {
        loadTimeMs: settings.coldLoadMs,
        tokenDelayMs: settings.upstreamMs / settings.tokens,
        replyText: fixedReply(settings.tokens),
        // Unlimited parallel requests: the emulator must not queue what the load generator sends.
        numParallel: 0,
      },
      nodeArgs: settings.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    });
    const serviceClient = new BenchClient(service.url);
    const directClient = new BenchClient(emulator.url);
    try {
      print('cold start ...');
      const coldStart = await measureColdStart(service, serviceClient, settings.coldSamples);
      const directBody = await upstreamChatBody(emulator);
      print(`sequential (${settings.sequential} per target) ...`);
      const sequential = await measureSequential(directClient, serviceClient, directBody, settings.sequential);
      print(`time to first token (${settings.ttft} per target) ...`);
      const ttft = await measureTimeToFirstToken(directClient, serviceClient, directBody, settings.ttft);
      directClient.close();
      serviceClient.close();
      print('load ...');
      const { points, rss } = await measureLoad(settings, emulator.url, service, directBody);
      const serviceExitCode = await service.stop();
      await emulator.stop();
      const loadAverage = load.stop();
      const targets = {
        p99OverheadAtC16Ms: points.find((p) => p.concurrency === 16)?.overhead.p99,
        worstThroughputRatio: Math.min(...points.map((p) => p.throughputRatio)),
        coldStartRatio: coldStart.ratio,
        idleRssMiB: coldStart.idleRssAtReadyMiB,
      };
      const result = {
        bench: 'overhead',
        label: settings.label,
        date: new Date().toISOString(),
        machine,
        loadAverage,
        quietBeforeStart: quiet,
        settings: { ...settings, repo: relative(REPO_ROOT, settings.repo) || '.', workDir: undefined },
        serviceEnv: 'see bench/lib/processes.ts BENCH_SERVICE_ENV',
        upstreamBody: directBody,
        coldStart,
        sequential,
        timeToFirstToken: ttft,
        concurrency: points,
        rss: { idleAtReadyMiB: coldStart.idleRssAtReadyMiB, underLoad: rss },
        serviceExitCode,
        targets,
      };
      report(result.coldStart, sequential, ttft, points, rss, targets, loadAverage);
      const written = writeResultJson('overhead', result, settings.out);
      print(`\nresults: ${relative(process.cwd(), written)}`);
      if (settings.chart !== undefined) {
        const footnote = `${machine.nproc} × ${machine.cpuModel}, Node ${machine.nodeVersion}, load average ${loadAverage.mean} (max ${loadAverage.max}); ${settings.rounds} × ${settings.durationSeconds} s per target and concurrency`;
        mkdirSync(join(settings.chart, '..'), { recursive: true });
        writeFileSync(settings.chart, chart(settings, sequential, points, footnote));
        print(`chart:   ${relative(process.cwd(), settings.chart)}`);
      }
      if (settings.cpuProf) {
        const profile = newestProfile(profileDir);
        if (profile === undefined) {
          print('no CPU profile was written');
        } else {
          printProfile(profile);
        }
      }
    } finally {
      directClient.close();
      serviceClient.close();
    }
  } finally {
    load.stop();
    await group.stopAll();
  }
}

function report(
  coldStart: ColdStart,
  sequential: Pair,
  ttft: Pair,
  points: LoadPoint[],
  rss: RssUnderLoad,
  targets: Record<string, number | undefined>,
  loadAverage: { mean: number; max: number },
): void {
  print('\nlatency in ms; overhead = service − direct');
  print(
    formatTable([
      ['measurement', 'direct p50', 'service p50', 'direct p99', 'service p99', 'overhead p50', 'overhead p99'],
      [
        'sequential',
        sequential.direct.p50,
        sequential.service.p50,
        sequential.direct.p99,
        sequential.service.p99,
        sequential.overhead.p50,
        sequential.overhead.p99,
      ],
      [
        'stream: first token',
        ttft.direct.p50,
        ttft.service.p50,
        ttft.direct.p99,
        ttft.service.p99,
        ttft.overhead.p50,
        ttft.overhead.p99,
      ],
    ]),
  );
  print('\nclosed-loop load (autocannon)');
  print(
    formatTable([
      [
        'connections',
        'direct p50',
        'service p50',
        'direct p99',
        'service p99',
        'overhead p99',
        'direct req/s',
        'service req/s',
        'ratio',
        'errors',
      ],
      ...points.map((p) => [
        p.concurrency,
        p.direct.p50,
        p.service.p50,
        p.direct.p99,
        p.service.p99,
        p.overhead.p99,
        p.direct.rps,
        p.service.rps,
        p.throughputRatio,
        `${p.direct.errors}/${p.service.errors}`,
      ]),
    ]),
  );
  print(
    `\ncold start: first /chat after ready ${coldStart.firstMs} ms, median of the next ${coldStart.steady.count} ${coldStart.steadyMedianMs} ms, ratio ${coldStart.ratio}`,
  );
  print(`RSS: idle ${coldStart.idleRssAtReadyMiB} MiB, under load max ${rss.maxMiB} MiB (mean ${rss.meanMiB})`);
  print(`load average during the run: mean ${loadAverage.mean}, max ${loadAverage.max}`);
  print(`targets: ${JSON.stringify(targets)}`);
}

function printProfile(path: string): void {
  const summary = summarizeProfile(path, 25);
  print(`\nCPU profile ${path}: ${summary.busyMs} ms busy of ${summary.totalMs} ms`);
  print(
    formatTable([
      ['self time by origin', 'ms', '% busy'],
      ...summary.byOrigin.map((r) => [r.name, r.selfMs, r.busyPercent]),
    ]),
  );
  print();
  print(
    formatTable([
      ['self time by function', 'ms', '% busy'],
      ...summary.byFunction.map((r) => [r.name, r.selfMs, r.busyPercent]),
    ]),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `overhead benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});

/**
 * What the service costs on top of Ollama. Starts the emulator with a fixed latency (about 50 ms for
 * a non-streamed chat) in its own process, builds and starts the service in front of it, and measures
 * direct-to-emulator against through-the-service, interleaved so that drift hits both:
 *   - cold start: the first /chat once /health/ready turns 200, against the median of the next ones;
 *   - sequential requests, one at a time, alternating direct and service;
 *   - streaming time to first token (NDJSON first line against the first SSE delta);
 *   - closed-loop load with autocannon at several concurrencies (rounds alternate the order);
 *   - the service's RSS idle and under the heaviest load, and its CPU time per request.
 * Writes bench/results/overhead-<date>.json and docs/benchmarks/overhead.svg.
 *
 *   node --require ./test/support/register-ts.js bench/overhead.ts [--duration 5] [--rounds 2] [--cpu-prof]
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { summarizeProfile } from './lib/cpuprofile';
import { BenchClient } from './lib/http';
import { LoadSampler, machineFacts, waitForQuiet } from './lib/machine';
import {
  measureFirstPiece,
  measureLoad,
  measureSequential,
  type LoadResult,
  type SequentialResult,
} from './lib/measure';
import { ProcessGroup, REPO_ROOT, type EmulatorProcess, type ServiceProcess } from './lib/processes';
import { formatTable, print, writeResultJson } from './lib/results';
import { defaultWorkDir, startStack, stopOnSignal } from './lib/stack';
import { round, roundSummary, summarize, type Summary } from './lib/stats';
import { renderBarChart } from './lib/svg-chart';
import { MESSAGE, directTarget, fixedLatencyEmulator, serviceTarget, upstreamChatBody } from './lib/targets';

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
  --idle-settle S     seconds without traffic over which the idle RSS is sampled (default 30)
  --repo DIR          build the service from this tree (default: this repository)
  --work-dir DIR      build, service log and profiles (default: <tmp>/llm-gateway-bench)
  --cpu-prof          run the service with --cpu-prof and summarise the profile of the load phase
  --wait-quiet S      first wait up to S seconds for the 1-minute load average to stay below 1 for 60 s
  --label TEXT        stored with the results (e.g. "baseline")
  --out FILE          results file (default bench/results/overhead-<date>.json)
  --chart FILE        chart file (default docs/benchmarks/overhead.svg); --no-chart to skip it
  --replot FILE       measure nothing: draw the chart of an earlier results file`;

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
  idleSettleSeconds: number;
  repo: string;
  workDir: string;
  cpuProf: boolean;
  waitQuietSeconds: number;
  label: string;
  out?: string;
  chart?: string;
  replot?: string;
}

function wholeNumber(name: string, text: string, min = 1): number {
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
      'idle-settle': { type: 'string', default: '30' },
      repo: { type: 'string', default: REPO_ROOT },
      'work-dir': { type: 'string', default: defaultWorkDir() },
      'cpu-prof': { type: 'boolean', default: false },
      'wait-quiet': { type: 'string', default: '0' },
      label: { type: 'string', default: '' },
      out: { type: 'string' },
      chart: { type: 'string' },
      'no-chart': { type: 'boolean', default: false },
      replot: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return undefined;
  }
  return {
    upstreamMs: wholeNumber('upstream-ms', values['upstream-ms']),
    tokens: wholeNumber('tokens', values.tokens),
    sequential: wholeNumber('sequential', values.sequential),
    ttft: wholeNumber('ttft', values.ttft),
    concurrency: values.concurrency.split(',').map((c) => wholeNumber('concurrency', c.trim())),
    durationSeconds: wholeNumber('duration', values.duration),
    warmupSeconds: wholeNumber('warmup', values.warmup, 0),
    rounds: wholeNumber('rounds', values.rounds),
    coldLoadMs: wholeNumber('cold-load-ms', values['cold-load-ms'], 0),
    coldSamples: wholeNumber('cold-samples', values['cold-samples']),
    idleSettleSeconds: wholeNumber('idle-settle', values['idle-settle'], 0),
    repo: values.repo,
    workDir: values['work-dir'],
    cpuProf: values['cpu-prof'],
    waitQuietSeconds: wholeNumber('wait-quiet', values['wait-quiet'], 0),
    label: values.label,
    out: values.out,
    chart: values['no-chart'] ? undefined : (values.chart ?? join(REPO_ROOT, 'docs', 'benchmarks', 'overhead.svg')),
    replot: values.replot,
  };
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

/**
 * Polls readiness every 10 ms, sends the first chat the moment it is ready, then `samples` more.
 * The benchmark's own request code runs first against the emulator (`/api/show`, which changes
 * nothing there), so that its first-call costs do not count as the service's.
 */
async function measureColdStart(
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

interface Comparison<T> {
  direct: T;
  service: T;
  overhead: { p50: number; p99: number };
}

interface LoadPoint extends Comparison<LoadResult> {
  concurrency: number;
  /** Service req/s divided by direct req/s. */
  throughputRatio: number;
}

function overheadOf(direct: { p50: number; p99: number }, service: { p50: number; p99: number }) {
  return { p50: round(service.p50 - direct.p50), p99: round(service.p99 - direct.p99) };
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

interface ChartInput {
  label: string;
  machine: { nproc: number; cpuModel: string; nodeVersion: string };
  loadAverage: { mean: number; max: number };
  settings: { upstreamMs: number; rounds: number; durationSeconds: number };
  sequential: Comparison<SequentialResult>;
  concurrency: LoadPoint[];
}

/** The SVG of a run: latency per load level (direct and service, p50 and p99) and the overhead. */
function chart({ label, machine, loadAverage, settings, sequential, concurrency: points }: ChartInput): string {
  const footnote =
    `${label === '' ? '' : `${label}; `}${machine.nproc} × ${machine.cpuModel}, Node ${machine.nodeVersion}, ` +
    `load average ${loadAverage.mean} (max ${loadAverage.max}); ${settings.rounds} × ${settings.durationSeconds} s ` +
    'per target and concurrency';
  const groups = [
    { label: 'sequential', d: sequential.direct.latency, s: sequential.service.latency },
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
  if (settings.replot !== undefined) {
    const target = settings.chart ?? join(REPO_ROOT, 'docs', 'benchmarks', 'overhead.svg');
    writeFileSync(target, chart(JSON.parse(readFileSync(settings.replot, 'utf8')) as ChartInput));
    print(`chart: ${relative(process.cwd(), target)}`);
    return;
  }
  const machine = machineFacts();
  let quiet: boolean | undefined;
  if (settings.waitQuietSeconds > 0) {
    print(`waiting up to ${settings.waitQuietSeconds} s for the load average to stay below 1 for 60 s ...`);
    quiet = await waitForQuiet(1, 60, settings.waitQuietSeconds);
    print(quiet ? 'quiet' : `still busy (load ${loadavg()[0]?.toFixed(2)}); measuring anyway`);
  }
  const loadSampler = new LoadSampler();
  loadSampler.start();
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
      emulator: fixedLatencyEmulator(settings.upstreamMs, settings.tokens, settings.coldLoadMs),
      nodeArgs: settings.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    });
    print('cold start ...');
    const coldStart = await measureColdStart(service, emulator, settings.coldSamples);
    const upstreamBody = await upstreamChatBody(emulator);
    // V8 gives back the memory of start-up garbage only after a while without allocations (its memory
    // reducer), at a moment of its choosing: the idle RSS is the lowest of one sample a second.
    print(`idle for ${settings.idleSettleSeconds} s ...`);
    const idleSamples: number[] = [];
    for (let i = 0; i < settings.idleSettleSeconds; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      idleSamples.push(service.rssMiB());
    }
    const idleRssSettledMiB = round(Math.min(...idleSamples, service.rssMiB()), 1);
    const direct = directTarget(emulator, upstreamBody);
    const viaService = serviceTarget('service', service, emulator);
    const targets = [direct, viaService];

    print(`sequential (${settings.sequential} per target) ...`);
    const seq = await measureSequential(targets, settings.sequential, WARM_REQUESTS);
    const sequential: Comparison<SequentialResult> = {
      direct: seq['direct'],
      service: seq['service'],
      overhead: overheadOf(seq['direct'].latency, seq['service'].latency),
    };
    print(`time to first token (${settings.ttft} per target) ...`);
    const first = await measureFirstPiece(targets, settings.ttft, WARM_REQUESTS);
    const ttft: Comparison<Summary> = {
      direct: first['direct'],
      service: first['service'],
      overhead: overheadOf(first['direct'], first['service']),
    };

    print('load ...');
    const loadStartedAfterMs = performance.now() - service.startedAt;
    const heaviest = Math.max(...settings.concurrency);
    const rss: number[] = [];
    const points: LoadPoint[] = [];
    for (const connections of settings.concurrency) {
      const results = await measureLoad(targets, {
        connections,
        rounds: settings.rounds,
        seconds: settings.durationSeconds,
        warmupSeconds: settings.warmupSeconds,
        around: (target) => {
          if (target !== viaService || connections !== heaviest) {
            return undefined;
          }
          const timer = setInterval(() => rss.push(service.rssMiB()), RSS_SAMPLE_MS);
          return () => clearInterval(timer);
        },
        onRun: (target, roundIndex, run) =>
          print(
            `  c=${connections} round ${roundIndex + 1} ${target.name}: ${run.latencies.length} responses, ${run.errors} errors`,
          ),
      });
      const d = results['direct'];
      const s = results['service'];
      points.push({
        concurrency: connections,
        direct: d,
        service: s,
        overhead: overheadOf(d, s),
        throughputRatio: round(s.rps / d.rps, 4),
      });
    }
    const rssUnderLoad = {
      maxMiB: round(Math.max(...rss), 1),
      meanMiB: round(rss.reduce((sum, v) => sum + v, 0) / rss.length, 1),
      samples: rss.length,
    };
    const serviceExitCode = await service.stop();
    await emulator.stop();
    const loadAverage = loadSampler.stop();

    const goals = {
      p99OverheadAtC16Ms: points.find((p) => p.concurrency === 16)?.overhead.p99,
      worstThroughputRatio: Math.min(...points.map((p) => p.throughputRatio)),
      coldStartRatio: coldStart.ratio,
      idleRssMiB: idleRssSettledMiB,
    };
    const result = {
      bench: 'overhead',
      label: settings.label,
      date: new Date().toISOString(),
      machine,
      loadAverage,
      quietBeforeStart: quiet,
      settings: { ...settings, repo: relative(REPO_ROOT, settings.repo) || '.', workDir: undefined },
      upstreamBody,
      coldStart,
      sequential,
      timeToFirstToken: ttft,
      concurrency: points,
      rss: {
        idleAtReadyMiB: coldStart.idleRssAtReadyMiB,
        idleSettledMiB: idleRssSettledMiB,
        idleSettleSeconds: settings.idleSettleSeconds,
        underLoad: rssUnderLoad,
      },
      serviceExitCode,
      goals,
    };
    report(result);
    const written = writeResultJson('overhead', result, settings.out);
    print(`\nresults: ${relative(process.cwd(), written)}`);
    if (settings.chart !== undefined) {
      mkdirSync(join(settings.chart, '..'), { recursive: true });
      writeFileSync(settings.chart, chart(result));
      print(`chart:   ${relative(process.cwd(), settings.chart)}`);
    }
    if (settings.cpuProf) {
      const profile = newestProfile(profileDir);
      if (profile === undefined) {
        print('no CPU profile was written');
      } else {
        printProfile(profile, loadStartedAfterMs);
      }
    }
  } finally {
    loadSampler.stop();
    await group.stopAll();
  }
}

interface Report {
  coldStart: ColdStart;
  sequential: Comparison<SequentialResult>;
  timeToFirstToken: Comparison<Summary>;
  concurrency: LoadPoint[];
  rss: {
    idleAtReadyMiB: number;
    idleSettledMiB: number;
    idleSettleSeconds: number;
    underLoad: { maxMiB: number; meanMiB: number };
  };
  loadAverage: { mean: number; max: number };
  goals: Record<string, number | undefined>;
}

function report({ coldStart, sequential, timeToFirstToken: ttft, concurrency, rss, loadAverage, goals }: Report): void {
  const seq = { d: sequential.direct.latency, s: sequential.service.latency };
  print('\nlatency in ms; overhead = service − direct');
  print(
    formatTable([
      ['measurement', 'direct p50', 'service p50', 'direct p99', 'service p99', 'overhead p50', 'overhead p99'],
      ['sequential', seq.d.p50, seq.s.p50, seq.d.p99, seq.s.p99, sequential.overhead.p50, sequential.overhead.p99],
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
  print(`service CPU per sequential request: ${sequential.service.cpuMsPerRequest['service']} ms`);
  print('\nclosed-loop load (autocannon); CPU = CPU time per request of the service (service runs) / emulator');
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
        'service CPU',
        'emulator CPU',
        'errors',
      ],
      ...concurrency.map((p) => [
        p.concurrency,
        p.direct.p50,
        p.service.p50,
        p.direct.p99,
        p.service.p99,
        p.overhead.p99,
        p.direct.rps,
        p.service.rps,
        p.throughputRatio,
        p.service.cpuMsPerRequest['service'] ?? Number.NaN,
        p.direct.cpuMsPerRequest['emulator'] ?? Number.NaN,
        `${p.direct.errors}/${p.service.errors}`,
      ]),
    ]),
  );
  print(
    `\ncold start: first /chat after ready ${coldStart.firstMs} ms, median of the next ${coldStart.steady.count} ` +
      `${coldStart.steadyMedianMs} ms, ratio ${coldStart.ratio}`,
  );
  print(
    `RSS: at ready ${rss.idleAtReadyMiB} MiB, idle (lowest over ${rss.idleSettleSeconds} s) ${rss.idleSettledMiB} MiB, ` +
      `under load max ${rss.underLoad.maxMiB} MiB (mean ${rss.underLoad.meanMiB})`,
  );
  print(`load average during the run: mean ${loadAverage.mean}, max ${loadAverage.max}`);
  print(`goals: ${JSON.stringify(goals)}`);
}

/** `skipMs`: the service's start-up and the measurements before the load, left out of the tables. */
function printProfile(path: string, skipMs: number): void {
  const summary = summarizeProfile(path, { top: 25, skipMs });
  print(`\nCPU profile ${path} (load phase, after ${Math.round(skipMs)} ms): ${summary.busyMs} ms busy`);
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
  print(`\nmore: bench/cpuprofile-summary.ts ${path} --skip-ms ${Math.round(skipMs)} [--focus TEXT]`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `overhead benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});

/**
 * What the service costs on top of Ollama. Starts the emulator with a fixed latency (about 50 ms for
 * a non-streamed chat) in its own process, builds and starts the service in front of it, and measures
 * direct-to-emulator against through-the-service, interleaved so that drift hits both:
 *   - cold start: the first /chat once /health/ready turns 200, against the median of the next ones;
 *   - sequential requests, one at a time, alternating direct and service;
 *   - streaming time to first token (NDJSON first line against the first SSE delta);
 *   - closed-loop load with autocannon at several concurrencies (rounds alternate the order);
 *   - the same with an upstream that answers at once (the emulator without token delay), where the
 *     service's own cost per request decides the throughput;
 *   - `/v1/embeddings` and Ollama's `/api/chat` through the service against the same requests direct,
 *     when this tree has those routes;
 *   - the service's RSS and CPU time idle (after start and after the load), its RSS under the heaviest
 *     load, and its CPU time per request.
 * Prints every performance target as met or not. Writes bench/results/overhead-<date>.json and
 * docs/benchmarks/overhead.svg.
 *
 *   node --require ./test/support/register-ts.js bench/overhead.ts [--duration 5] [--rounds 2] [--cpu-prof]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { machineFacts } from './lib/machine';
import { measureFirstPiece, measureLoad, measureSequential, type SequentialResult, type Target } from './lib/measure';
import {
  WARM_REQUESTS,
  idleWindow,
  loadPoint,
  measureColdStart,
  measureRoutes,
  newestProfile,
} from './lib/overhead-phases';
import {
  chart,
  goalsOf,
  overheadOf,
  printProfile,
  report,
  type Comparison,
  type LoadPoint,
  type OverheadResult,
} from './lib/overhead-report';
import { REPO_ROOT } from './lib/processes';
import { print, runBench, writeResultJson } from './lib/results';
import { beginRun, defaultWorkDir, startStack } from './lib/stack';
import { round, type Summary } from './lib/stats';
import { directTarget, fixedLatencyEmulator, serviceTarget, upstreamChatBody } from './lib/targets';
import { wholeNumber } from './lib/args';

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/overhead.ts [options]
  --upstream-ms N     latency of a non-streamed chat at the emulator; 0 answers at once (default 50)
  --instant-connections N  connections of the run with an upstream that answers at once (default 16)
  --embedding-model M a model the service also serves, for /v1/embeddings (default nomic-embed-text:latest;
                      '' for none)
  --tokens N          tokens in the emulator's fixed reply; each takes upstream-ms / N (default 5)
  --sequential N      sequential requests per target (default 200)
  --ttft N            streamed requests per target for time to first token (default 100)
  --concurrency LIST  autocannon connections, comma-separated (default 1,16,64)
  --duration S        measured seconds per autocannon run (default 5)
  --warmup S          unmeasured seconds at the start of each run (default 1)
  --rounds N          runs per target and concurrency, alternating which goes first (default 2)
  --cold-load-ms N    the emulator's model load time, so that a cold model would show (default 1500)
  --cold-samples N    requests after the first one that make the steady state (default 20)
  --idle-settle S     seconds without traffic over which the idle RSS and CPU are sampled, after the
                      start and after the load (default 60)
  --repo DIR          build the service from this tree (default: this repository)
  --work-dir DIR      build, service log and profiles (default: <tmp>/llm-gateway-bench)
  --cpu-prof          run the service with --cpu-prof and summarise the profile of the load phase
  --wait-quiet S      first wait up to S seconds for the 1-minute load average to stay below 1 for 60 s
  --label TEXT        stored with the results (e.g. "baseline")
  --out FILE          results file (default bench/results/overhead-<date>.json)
  --chart FILE        chart file (default docs/benchmarks/overhead.svg); --no-chart to skip it
  --replot FILE       measure nothing: draw the chart of an earlier results file`;

const RSS_SAMPLE_MS = 250;

interface Settings {
  upstreamMs: number;
  instantConnections: number;
  embeddingModel: string;
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

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      'upstream-ms': { type: 'string', default: '50' },
      'instant-connections': { type: 'string', default: '16' },
      'embedding-model': { type: 'string', default: 'nomic-embed-text:latest' },
      tokens: { type: 'string', default: '5' },
      sequential: { type: 'string', default: '200' },
      ttft: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '1,16,64' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '2' },
      'cold-load-ms': { type: 'string', default: '1500' },
      'cold-samples': { type: 'string', default: '20' },
      'idle-settle': { type: 'string', default: '60' },
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
    upstreamMs: wholeNumber('upstream-ms', values['upstream-ms'], 0),
    instantConnections: wholeNumber('instant-connections', values['instant-connections']),
    embeddingModel: values['embedding-model'],
    tokens: wholeNumber('tokens', values.tokens),
    sequential: wholeNumber('sequential', values.sequential),
    ttft: wholeNumber('ttft', values.ttft),
    concurrency: values.concurrency.split(',').map((c) => wholeNumber('concurrency', c.trim())),
    durationSeconds: wholeNumber('duration', values.duration),
    warmupSeconds: wholeNumber('warmup', values.warmup, 0),
    rounds: wholeNumber('rounds', values.rounds),
    coldLoadMs: wholeNumber('cold-load-ms', values['cold-load-ms'], 0),
    coldSamples: wholeNumber('cold-samples', values['cold-samples']),
    idleSettleSeconds: wholeNumber('idle-settle', values['idle-settle'], 3),
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

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  if (settings === undefined) {
    return;
  }
  if (settings.replot !== undefined) {
    const target = settings.chart ?? join(REPO_ROOT, 'docs', 'benchmarks', 'overhead.svg');
    writeFileSync(target, chart(JSON.parse(readFileSync(settings.replot, 'utf8')) as OverheadResult));
    print(`chart: ${relative(process.cwd(), target)}`);
    return;
  }
  const machine = machineFacts();
  const { quiet, loadSampler, group, profileDir } = await beginRun(settings);
  try {
    print(`building the service from ${settings.repo} into ${settings.workDir} ...`);
    const emulatorOptions = fixedLatencyEmulator(settings.upstreamMs, settings.tokens, settings.coldLoadMs);
    const embedding = settings.embeddingModel === '' ? [] : [settings.embeddingModel];
    const { emulator, service } = await startStack(group, {
      repo: settings.repo,
      workDir: settings.workDir,
      emulator: { ...emulatorOptions, models: ['llama3.1:latest', ...embedding] },
      serviceEnv: embedding.length > 0 ? { OLLAMA_MODELS: embedding.join(',') } : {},
      nodeArgs: settings.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    });
    print('cold start ...');
    const coldStart = await measureColdStart(service, emulator, settings.coldSamples);
    const upstreamBody = await upstreamChatBody(emulator);
    print(`idle for ${settings.idleSettleSeconds} s ...`);
    const idleAfterStart = await idleWindow(service, settings.idleSettleSeconds);
    const direct = directTarget(emulator, upstreamBody);
    const viaService = serviceTarget('service', service, emulator);
    const targets: Target[] = [direct, viaService];

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
    const onRun =
      (connections: number) => (target: Target, roundIndex: number, run: { latencies: number[]; errors: number }) =>
        print(
          `  c=${connections} round ${roundIndex + 1} ${target.name}: ${run.latencies.length} responses, ${run.errors} errors`,
        );
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
        onRun: onRun(connections),
      });
      points.push(loadPoint(results, 'service', connections));
    }
    print(`routes compared at 16 connections (${settings.upstreamMs} ms upstream) ...`);
    const { routes, notMeasured } = await measureRoutes(settings, service, emulator);

    print(`load with an upstream that answers at once, ${settings.instantConnections} connections ...`);
    await emulator.configure({ tokenDelayMs: 0 });
    const instantResults = await measureLoad(targets, {
      connections: settings.instantConnections,
      rounds: settings.rounds,
      seconds: settings.durationSeconds,
      warmupSeconds: settings.warmupSeconds,
      onRun: onRun(settings.instantConnections),
    });
    const instant = loadPoint(instantResults, 'service', settings.instantConnections);

    print(`idle for ${settings.idleSettleSeconds} s ...`);
    const idleAfterLoad = await idleWindow(service, settings.idleSettleSeconds);
    const rssUnderLoad = {
      maxMiB: round(Math.max(...rss), 1),
      meanMiB: round(rss.reduce((sum, v) => sum + v, 0) / rss.length, 1),
      samples: rss.length,
    };
    const serviceExitCode = await service.stop();
    await emulator.stop();
    const loadAverage = loadSampler.stop();

    const result: OverheadResult & Record<string, unknown> = {
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
      instant,
      routes,
      routesNotMeasured: notMeasured,
      idle: { afterStart: idleAfterStart, afterLoad: idleAfterLoad },
      rss: { idleAtReadyMiB: coldStart.idleRssAtReadyMiB, underLoad: rssUnderLoad },
      serviceExitCode,
    };
    const goals = goalsOf(result);
    report(result, goals);
    const written = writeResultJson('overhead', { ...result, goals }, settings.out);
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

runBench('overhead benchmark', main);

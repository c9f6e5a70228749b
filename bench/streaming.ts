/**
 * What streaming costs: time to the first token, the gaps between tokens and CPU time per 1000 tokens,
 * for Ollama's stream read directly (`POST /api/chat` at the emulator), the service's `/chat` SSE
 * and its `/v1/chat/completions` SSE, with 1, 16 and 64 streams started together. The emulator
 * answers every stream with the same reply (200 tokens, one every 20 ms by default) and never queues.
 * Rounds alternate the targets, the order rotating every round, so that drift hits all alike.
 * Writes bench/results/streaming-<date>.json and docs/benchmarks/streaming.svg.
 *
 *   node --require ./test/support/register-ts.js bench/streaming.ts [--streams 1,16,64] [--rounds 3]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { atMost, printGoals, type Goal } from './lib/goals';
import { BenchClient, waitForStatus200 } from './lib/http';
import { newestProfile } from './lib/overhead-phases';
import { printProfile } from './lib/overhead-report';
import { machineFacts } from './lib/machine';
import { REPO_ROOT, type ManagedProcess } from './lib/processes';
import { formatTable, print, runBench, writeResultJson } from './lib/results';
import { beginRun, defaultWorkDir, startStack } from './lib/stack';
import { round, summarize } from './lib/stats';
import { CHAT_SSE, NDJSON, OPENAI_SSE, runStreams, type StreamFraming, type StreamTiming } from './lib/streams';
import { renderBarChart } from './lib/svg-chart';
import { MESSAGE, fixedReply, upstreamChatBody } from './lib/targets';
import { wholeNumber } from './lib/args';

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/streaming.ts [options]
  --tokens N          tokens in every reply (default 200)
  --token-delay-ms N  the emulator's delay per token (default 20)
  --streams LIST      streams started together, comma-separated (default 1,16,64)
  --rounds N          rounds per target and stream count (default 3)
  --repo DIR          build the service from this tree (default: this repository)
  --work-dir DIR      build and service log (default: <tmp>/llm-gateway-bench)
  --wait-quiet S      first wait up to S seconds for the 1-minute load average to stay below 1 for 60 s
  --cpu-prof          run the service with --cpu-prof and summarise the profile of the streams
  --label TEXT        stored with the results
  --out FILE          results file (default bench/results/streaming-<date>.json)
  --chart FILE        chart file (default docs/benchmarks/streaming.svg); --no-chart to skip it
  --replot FILE       measure nothing: draw the chart of an earlier results file`;

const MODEL = 'llama3.1:latest';
const READY_DEADLINE_MS = 120_000;

interface StreamTarget {
  name: 'direct' | '/chat' | '/v1';
  url: string;
  body: unknown;
  framing: StreamFraming;
  processes: ManagedProcess[];
}

/** One target at one stream count, over all its rounds. */
export interface StreamPoint {
  target: StreamTarget['name'];
  streams: number;
  firstToken: { p50: number; p99: number };
  gap: { p50: number; p99: number };
  tokens: number;
  /** CPU milliseconds per 1000 tokens delivered, by process. */
  cpuMsPer1000Tokens: Record<string, number>;
}

interface Settings {
  tokens: number;
  tokenDelayMs: number;
  streams: number[];
  rounds: number;
  repo: string;
  workDir: string;
  waitQuietSeconds: number;
  cpuProf: boolean;
  label: string;
  out?: string;
  chart?: string;
  replot?: string;
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      tokens: { type: 'string', default: '200' },
      'token-delay-ms': { type: 'string', default: '20' },
      streams: { type: 'string', default: '1,16,64' },
      rounds: { type: 'string', default: '3' },
      repo: { type: 'string', default: REPO_ROOT },
      'work-dir': { type: 'string', default: defaultWorkDir() },
      'wait-quiet': { type: 'string', default: '0' },
      'cpu-prof': { type: 'boolean', default: false },
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
    tokens: wholeNumber('tokens', values.tokens, 2),
    tokenDelayMs: wholeNumber('token-delay-ms', values['token-delay-ms'], 0),
    streams: values.streams.split(',').map((s) => wholeNumber('streams', s.trim())),
    rounds: wholeNumber('rounds', values.rounds),
    repo: values.repo,
    workDir: values['work-dir'],
    waitQuietSeconds: wholeNumber('wait-quiet', values['wait-quiet'], 0),
    cpuProf: values['cpu-prof'],
    label: values.label,
    out: values.out,
    chart: values['no-chart'] ? undefined : (values.chart ?? join(REPO_ROOT, 'docs', 'benchmarks', 'streaming.svg')),
    replot: values.replot,
  };
}

/** Runs every round of one stream count, targets interleaved; CPU time is charged per target. */
async function measureLevel(targets: StreamTarget[], streams: number, rounds: number): Promise<StreamPoint[]> {
  const agents = targets.map(() => new Agent({ keepAlive: true, maxSockets: streams }));
  const timings = targets.map((): StreamTiming[] => []);
  const cpu = targets.map(() => new Map<string, number>());
  try {
    for (let r = -1; r < rounds; r++) {
      // Round -1 opens the connections and runs every code path once; it is not measured.
      const order = targets.map((_, i) => (i + Math.max(r, 0)) % targets.length);
      for (const index of order) {
        const target = targets[index];
        const before = target.processes.map((p) => p.cpuMs());
        const results = await runStreams(target.url, target.body, target.framing, streams, agents[index]);
        if (r < 0) {
          continue;
        }
        target.processes.forEach((p, i) => {
          cpu[index].set(p.name, (cpu[index].get(p.name) ?? 0) + p.cpuMs() - (before[i] ?? 0));
        });
        timings[index].push(...results);
        print(`  ${streams} streams, round ${r + 1}, ${target.name}: ${results.length} streams`);
      }
    }
  } finally {
    agents.forEach((agent) => agent.destroy());
  }
  return targets.map((target, i) => {
    const first = summarize(timings[i].map((t) => t.firstTokenMs));
    const gaps = summarize(timings[i].flatMap((t) => t.gapsMs));
    const tokens = timings[i].reduce((sum, t) => sum + t.tokens, 0);
    return {
      target: target.name,
      streams,
      firstToken: { p50: round(first.p50), p99: round(first.p99) },
      gap: { p50: round(gaps.p50), p99: round(gaps.p99) },
      tokens,
      cpuMsPer1000Tokens: Object.fromEntries([...cpu[i]].map(([name, ms]) => [name, round((ms / tokens) * 1000)])),
    };
  });
}

function pointOf(points: StreamPoint[], target: StreamTarget['name'], streams: number): StreamPoint | undefined {
  return points.find((p) => p.target === target && p.streams === streams);
}

/** Time to first token added by the service, p50, at one and at 64 simultaneous streams. */
function goalsOf(points: StreamPoint[]): Goal[] {
  const added = (target: StreamTarget['name'], streams: number): number | undefined => {
    const service = pointOf(points, target, streams);
    const direct = pointOf(points, 'direct', streams);
    return service === undefined || direct === undefined
      ? undefined
      : round(service.firstToken.p50 - direct.firstToken.p50);
  };
  return (['/chat', '/v1'] as const).flatMap((target) => [
    atMost(`first token added, 1 stream, p50 (${target})`, added(target, 1), 1, 'ms'),
    atMost(`first token added, 64 streams together, p50 (${target})`, added(target, 64), 10, 'ms'),
  ]);
}

interface ChartInput {
  label: string;
  machine: { nproc: number; cpuModel: string; nodeVersion: string };
  loadAverage: { mean: number; max: number };
  settings: { tokens: number; tokenDelayMs: number; rounds: number };
  points: StreamPoint[];
}

function chart({ label, machine, loadAverage, settings, points }: ChartInput): string {
  const footnote =
    `${label === '' ? '' : `${label}; `}${machine.nproc} × ${machine.cpuModel}, Node ${machine.nodeVersion}, ` +
    `load average ${loadAverage.mean} (max ${loadAverage.max}); ${settings.rounds} rounds of ${settings.tokens}-token ` +
    `replies, one token every ${settings.tokenDelayMs} ms`;
  const levels = [...new Set(points.map((p) => p.streams))];
  const series = [
    { name: 'direct', color: '#9ecae1' },
    { name: '/chat', color: '#fdae6b' },
    { name: '/v1', color: '#e6550d' },
  ];
  const groups = (value: (p: StreamPoint) => number): Array<{ label: string; values: number[] }> =>
    levels.map((streams) => ({
      label: `${streams} stream${streams === 1 ? '' : 's'}`,
      values: series.map((s) => {
        const point = pointOf(points, s.name as StreamTarget['name'], streams);
        return point === undefined ? Number.NaN : value(point);
      }),
    }));
  return renderBarChart(
    [
      {
        title: 'Time to first token, p50',
        yLabel: 'ms',
        xLabel: 'streams started together',
        series,
        groups: groups((p) => p.firstToken.p50),
      },
      {
        title: 'Gap between tokens, p99',
        yLabel: 'ms',
        xLabel: 'streams started together',
        series,
        groups: groups((p) => p.gap.p99),
      },
    ],
    footnote,
  );
}

function report(points: StreamPoint[]): void {
  print('\nmilliseconds; CPU per 1000 tokens: the service (service targets) or the emulator (direct)');
  print(
    formatTable([
      ['target', 'streams', 'first token p50', 'first token p99', 'gap p50', 'gap p99', 'tokens', 'CPU / 1000 tokens'],
      ...points.map((p) => [
        p.target,
        p.streams,
        p.firstToken.p50,
        p.firstToken.p99,
        p.gap.p50,
        p.gap.p99,
        p.tokens,
        p.cpuMsPer1000Tokens[p.target === 'direct' ? 'emulator' : 'service'] ?? Number.NaN,
      ]),
    ]),
  );
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  if (settings === undefined) {
    return;
  }
  if (settings.replot !== undefined) {
    const target = settings.chart ?? join(REPO_ROOT, 'docs', 'benchmarks', 'streaming.svg');
    writeFileSync(target, chart(JSON.parse(readFileSync(settings.replot, 'utf8')) as ChartInput));
    print(`chart: ${relative(process.cwd(), target)}`);
    return;
  }
  const machine = machineFacts();
  const { quiet, loadSampler, group, profileDir } = await beginRun(settings);
  try {
    print(`building the service from ${settings.repo} into ${settings.workDir} ...`);
    const { emulator, service } = await startStack(group, {
      repo: settings.repo,
      workDir: settings.workDir,
      emulator: {
        tokenDelayMs: settings.tokenDelayMs,
        replyText: fixedReply(settings.tokens),
        numParallel: 0,
      },
      nodeArgs: settings.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    });
    await waitForStatus200(`${service.url}/health/ready`, READY_DEADLINE_MS, () => service.isRunning);
    const client = new BenchClient(service.url);
    try {
      const first = await client.postJson('/chat', { message: MESSAGE });
      if (first.status !== 200) {
        throw new Error(`POST /chat answered ${first.status}: ${first.body.slice(0, 300)}`);
      }
    } finally {
      client.close();
    }
    const upstreamBody = await upstreamChatBody(emulator);
    const targets: StreamTarget[] = [
      {
        name: 'direct',
        url: `${emulator.url}/api/chat`,
        body: { ...upstreamBody, stream: true },
        framing: NDJSON,
        processes: [emulator],
      },
      {
        name: '/chat',
        url: `${service.url}/chat`,
        body: { message: MESSAGE, stream: true },
        framing: CHAT_SSE,
        processes: [service, emulator],
      },
      {
        name: '/v1',
        url: `${service.url}/v1/chat/completions`,
        body: { model: MODEL, messages: [{ role: 'user', content: MESSAGE }], stream: true },
        framing: OPENAI_SSE,
        processes: [service, emulator],
      },
    ];
    const points: StreamPoint[] = [];
    const streamsStartedAfterMs = performance.now() - service.startedAt;
    for (const streams of settings.streams) {
      points.push(...(await measureLevel(targets, streams, settings.rounds)));
    }
    const serviceExitCode = await service.stop();
    await emulator.stop();
    const loadAverage = loadSampler.stop();
    const goals = goalsOf(points);
    const result = {
      bench: 'streaming',
      label: settings.label,
      date: new Date().toISOString(),
      machine,
      loadAverage,
      quietBeforeStart: quiet,
      settings: { ...settings, repo: relative(REPO_ROOT, settings.repo) || '.', workDir: undefined },
      points,
      goals,
      serviceExitCode,
    };
    report(points);
    print(`\nload average during the run: mean ${loadAverage.mean}, max ${loadAverage.max}`);
    print();
    printGoals(goals);
    const written = writeResultJson('streaming', result, settings.out);
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
        printProfile(profile, streamsStartedAfterMs);
      }
    }
  } finally {
    loadSampler.stop();
    await group.stopAll();
  }
}

runBench('streaming benchmark', main);

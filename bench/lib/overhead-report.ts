/** The overhead benchmark's result: its shape, its targets, its tables and its chart. */
import { summarizeProfile } from './cpuprofile';
import { atLeast, atMost, notMeasured, printGoals, type Goal } from './goals';
import type { LoadResult, SequentialResult } from './measure';
import { formatTable, print } from './results';
import type { Summary } from './stats';
import { renderBarChart } from './svg-chart';

export interface Comparison<T> {
  direct: T;
  service: T;
  overhead: { p50: number; p99: number };
}

export interface LoadPoint extends Comparison<LoadResult> {
  concurrency: number;
  /** Service req/s divided by direct req/s. */
  throughputRatio: number;
}

export interface ColdStart {
  /** From the service listening to /health/ready answering 200. */
  readyAfterListenMs: number;
  firstMs: number;
  steadyMedianMs: number;
  ratio: number;
  steady: Summary;
  idleRssAtReadyMiB: number;
}

/** A window without traffic: the lowest RSS of one sample a second, and the CPU time it used. */
export interface IdleWindow {
  seconds: number;
  rssMinMiB: number;
  /** Milliseconds of CPU per second over the whole window. */
  cpuMsPerSecond: number;
  /**
   * The median of the CPU time of each second: the steady state, without the one garbage collection
   * in which V8 gives back the memory of the activity before (a few tens of milliseconds, once).
   */
  cpuMsPerSecondMedian: number;
  /**
   * The same median for a `node` process that only wakes 10 times a second, measured alongside: the
   * machine's price of waking up at the time (absent in older results).
   */
  sleeperCpuMsPerSecondMedian?: number;
}

/** A route compared at one concurrency, direct and through the service. */
export interface RoutePoint extends Comparison<LoadResult> {
  route: string;
  concurrency: number;
  throughputRatio: number;
}

export interface OverheadResult {
  label: string;
  machine: { nproc: number; cpuModel: string; nodeVersion: string };
  loadAverage: { mean: number; max: number };
  settings: { upstreamMs: number; rounds: number; durationSeconds: number; instantConnections: number } & Record<
    string,
    unknown
  >;
  coldStart: ColdStart;
  sequential: Comparison<SequentialResult>;
  timeToFirstToken: Comparison<Summary>;
  concurrency: LoadPoint[];
  /** The upstream answering at once (the emulator with no token delay). */
  instant: LoadPoint;
  routes: RoutePoint[];
  /** Routes that could not be compared, with the reason. */
  routesNotMeasured: Array<{ route: string; note: string }>;
  idle: { afterStart: IdleWindow; afterLoad: IdleWindow };
  rss: { idleAtReadyMiB: number; underLoad: { maxMiB: number; meanMiB: number } };
}

export function overheadOf(direct: { p50: number; p99: number }, service: { p50: number; p99: number }) {
  const round3 = (v: number): number => Math.round(v * 1000) / 1000;
  return { p50: round3(service.p50 - direct.p50), p99: round3(service.p99 - direct.p99) };
}

/** Every target of the overhead benchmark, met or not. */
export function goalsOf(result: OverheadResult): Goal[] {
  const up = result.settings.upstreamMs;
  const heaviest = result.concurrency.find((p) => p.concurrency === 64);
  const instant = result.instant;
  const goals: Goal[] = [
    atLeast(`${up} ms upstream, 64 connections: req/s ÷ direct`, heaviest?.throughputRatio, 0.95),
    atMost(`${up} ms upstream, 64 connections: p99 added`, heaviest?.overhead.p99, 25, 'ms'),
    atLeast(`0 ms upstream, ${instant.concurrency} connections: service req/s`, instant.service.rps, 2000, 'req/s'),
    atMost(
      `0 ms upstream, ${instant.concurrency} connections: service CPU per request`,
      instant.service.cpuMsPerRequest['service'],
      0.5,
      'ms',
    ),
    atMost(`${up} ms upstream, one at a time: p50 added`, result.sequential.overhead.p50, 1, 'ms'),
    atMost('first token, one connection: p50 added (/chat)', result.timeToFirstToken.overhead.p50, 1, 'ms'),
    atMost('idle CPU after start (median second)', result.idle.afterStart.cpuMsPerSecondMedian, 2, 'ms/s'),
    atMost('idle CPU after the load (median second)', result.idle.afterLoad.cpuMsPerSecondMedian, 2, 'ms/s'),
    atMost('idle RSS after start', result.idle.afterStart.rssMinMiB, 80, 'MiB'),
    atMost('idle RSS after the load', result.idle.afterLoad.rssMinMiB, 80, 'MiB'),
  ];
  for (const point of result.routes) {
    goals.push(atLeast(`${point.route}, ${point.concurrency} connections: req/s ÷ direct`, point.throughputRatio, 0.9));
  }
  for (const { route, note } of result.routesNotMeasured) {
    goals.push(notMeasured(`${route}, 16 connections: req/s ÷ direct`, '≥ 0.9', note));
  }
  return goals;
}

function loadRows(points: Array<LoadPoint | RoutePoint>, label: (p: LoadPoint | RoutePoint) => string) {
  return points.map((p) => [
    label(p),
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
  ]);
}

const LOAD_HEADER = [
  'load',
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
];

export function report(result: OverheadResult, goals: Goal[]): void {
  const { coldStart, sequential, timeToFirstToken: ttft, concurrency, instant, routes, idle, rss } = result;
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
      LOAD_HEADER,
      ...loadRows(concurrency, (p) => `${result.settings.upstreamMs} ms, c=${p.concurrency}`),
      ...loadRows([instant], (p) => `0 ms, c=${p.concurrency}`),
      ...loadRows(routes, (p) => `${(p as RoutePoint).route}, c=${p.concurrency}`),
    ]),
  );
  print(
    `\ncold start: first /chat after ready ${coldStart.firstMs} ms, median of the next ${coldStart.steady.count} ` +
      `${coldStart.steadyMedianMs} ms, ratio ${coldStart.ratio}`,
  );
  print(
    `idle after start: RSS ${idle.afterStart.rssMinMiB} MiB (lowest over ${idle.afterStart.seconds} s), ` +
      `CPU ${idle.afterStart.cpuMsPerSecond} ms/s (median second ${idle.afterStart.cpuMsPerSecondMedian}); ` +
      `after the load: RSS ${idle.afterLoad.rssMinMiB} MiB, CPU ${idle.afterLoad.cpuMsPerSecond} ms/s ` +
      `(median second ${idle.afterLoad.cpuMsPerSecondMedian}); a node process waking 10 times a second meanwhile: ` +
      `${idle.afterStart.sleeperCpuMsPerSecondMedian ?? '?'} and ${idle.afterLoad.sleeperCpuMsPerSecondMedian ?? '?'} ms/s`,
  );
  print(
    `RSS at ready ${rss.idleAtReadyMiB} MiB, under load max ${rss.underLoad.maxMiB} MiB (mean ${rss.underLoad.meanMiB})`,
  );
  print(`load average during the run: mean ${result.loadAverage.mean}, max ${result.loadAverage.max}`);
  print();
  printGoals(goals);
}

/** The SVG of a run: latency per load level (direct and service, p50 and p99) and the overhead. */
export function chart(
  result: Pick<OverheadResult, 'label' | 'machine' | 'loadAverage' | 'settings' | 'sequential' | 'concurrency'>,
): string {
  const { label, machine, loadAverage, settings, sequential, concurrency: points } = result;
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

/** `skipMs`: the service's start-up and the measurements before the load, left out of the tables. */
export function printProfile(path: string, skipMs: number): void {
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
  print(`\nmore: bench/cpuprofile-summary.ts ${path} --skip-ms ${Math.round(skipMs)} [--focus TEXT] [--callers TEXT]`);
}

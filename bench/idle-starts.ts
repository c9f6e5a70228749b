/**
 * What an idle service holds some time after it started, over many starts: the number that varies
 * most from start to start is the one a single start says least about. Builds each tree, then starts
 * all of them at once, side by side in front of one emulator, again and again; each time, `--wait`
 * seconds after they answer, reads each one's RSS and the JavaScript heap it reports in `/metrics`
 * (committed and in use), and stops them.
 *
 *   node --require ./test/support/register-ts.js bench/idle-starts.ts --variant before=/tmp/before --variant after=.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, wholeNumber } from './lib/args';
import { BenchClient } from './lib/http';
import { LoadSampler } from './lib/machine';
import { buildService, ProcessGroup, startEmulator, startService, type ServiceProcess } from './lib/processes';
import { formatTable, print, resultHeader, runBench, writeResultJson } from './lib/results';
import { defaultWorkDir, stopOnSignal } from './lib/stack';
import { round, summarize } from './lib/stats';

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/idle-starts.ts --variant NAME=DIR ... [options]
  --variant NAME=DIR   a tree to build and start, under NAME (one or more)
  --starts N           starts of each tree (default 10)
  --wait S             seconds from the first answer to the reading (default 45)
  --large-heap MiB     a committed heap above this counts as a start whose garbage V8 still held
                       (default 40)
  --work-dir DIR       builds and logs (default: <tmp>/llm-gateway-bench/idle-starts)
  --out FILE           results (default bench/results/idle-starts-<date>.json)`;

const MIB = 1024 * 1024;

interface Reading {
  rssMiB: number;
  heapCommittedMiB: number;
  heapUsedMiB: number;
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (match?.[1] === undefined) {
    throw new Error(`/metrics has no ${name}`);
  }
  return Number(match[1]);
}

async function read(service: ServiceProcess): Promise<Reading> {
  const client = new BenchClient(service.url);
  try {
    const answer = await client.get('/metrics');
    if (answer.status !== 200) {
      throw new Error(`GET /metrics answered ${answer.status}`);
    }
    return {
      rssMiB: round(service.rssMiB(), 1),
      heapCommittedMiB: round(metric(answer.body, 'nodejs_heap_size_total_bytes') / MIB, 1),
      heapUsedMiB: round(metric(answer.body, 'nodejs_heap_size_used_bytes') / MIB, 1),
    };
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      variant: { type: 'string', multiple: true, default: [] },
      starts: { type: 'string', default: '10' },
      wait: { type: 'string', default: '45' },
      'large-heap': { type: 'string', default: '40' },
      'work-dir': { type: 'string', default: join(defaultWorkDir(), 'idle-starts') },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return;
  }
  const variants = values.variant.map((text) => {
    const at = text.indexOf('=');
    if (at <= 0 || at === text.length - 1) {
      throw new UsageError(`--variant ${text}: expected NAME=DIR`);
    }
    return { name: text.slice(0, at), repo: resolve(text.slice(at + 1)) };
  });
  if (variants.length === 0 || new Set(variants.map((v) => v.name)).size !== variants.length) {
    throw new UsageError('give one --variant NAME=DIR or more, each under its own name');
  }
  const starts = wholeNumber('starts', values.starts);
  const waitSeconds = wholeNumber('wait', values.wait);
  const largeHeapMiB = wholeNumber('large-heap', values['large-heap']);

  const group = new ProcessGroup();
  stopOnSignal(group);
  const loadSampler = new LoadSampler();
  loadSampler.start();
  const readings = new Map<string, Reading[]>(variants.map((v) => [v.name, []]));
  let loadAverage: ReturnType<LoadSampler['stop']> | undefined;
  try {
    const built = variants.map((v) => buildService(v.repo, join(values['work-dir'], v.name)));
    const emulator = await startEmulator(group, {});
    for (let start = 1; start <= starts; start += 1) {
      const services = await Promise.all(
        built.map((b, i) =>
          startService(group, { built: b, ollamaUrl: emulator.url, cwd: join(values['work-dir'], variants[i].name) }),
        ),
      );
      await new Promise((resolveWait) => setTimeout(resolveWait, waitSeconds * 1000));
      for (const [i, service] of services.entries()) {
        const reading = await read(service);
        readings.get(variants[i].name)!.push(reading);
        print(`start ${start} ${variants[i].name}: ${JSON.stringify(reading)}`);
      }
      await Promise.all(services.map((service) => service.stop()));
    }
  } finally {
    loadAverage = loadSampler.stop();
    await group.stopAll();
  }

  const rows: Array<Array<string | number>> = [
    [
      'tree',
      'RSS median',
      'RSS min',
      'RSS max',
      'heap committed median',
      'heap used median',
      `heap > ${largeHeapMiB} MiB`,
    ],
  ];
  const summary: Record<string, unknown> = {};
  for (const { name } of variants) {
    const list = readings.get(name)!;
    const rss = summarize(list.map((r) => r.rssMiB));
    const committed = summarize(list.map((r) => r.heapCommittedMiB));
    const used = summarize(list.map((r) => r.heapUsedMiB));
    const large = list.filter((r) => r.heapCommittedMiB > largeHeapMiB).length;
    rows.push([name, rss.p50, rss.min, rss.max, committed.p50, used.p50, `${large} of ${list.length}`]);
    summary[name] = { rssMiB: rss, heapCommittedMiB: committed, heapUsedMiB: used, largeHeapStarts: large };
  }
  print();
  print(`MiB, ${waitSeconds} s after each start; load average mean ${loadAverage.mean}, max ${loadAverage.max}`);
  print(formatTable(rows));
  const path = writeResultJson(
    'idle-starts',
    {
      ...resultHeader('idle-starts'),
      loadAverage,
      settings: { variants, starts, waitSeconds, largeHeapMiB },
      summary,
      readings: Object.fromEntries(readings),
    },
    values.out,
  );
  print(`results: ${path}`);
}

runBench('idle-starts', main);

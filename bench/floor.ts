/**
 * The floor under any overhead figure: what a bare Nest + Fastify echo route (`bench/floor-app.ts`)
 * costs per request on this machine, sequentially and under autocannon load, in latency and CPU time.
 * The service cannot cost less than this; it tells a slow machine from a slow service.
 *
 * With `--relay` it also measures the cheapest possible gateway in front of the emulator (50 ms
 * upstream): the same app relaying to Ollama's `/api/chat` through an undici pool, on Nest + Fastify and
 * on `node:http` alone, against the emulator direct: one request at a time, the first streamed line,
 * and 16 connections with an upstream that answers at once. No gateway can add less on this machine.
 *
 *   node --require ./test/support/register-ts.js bench/floor.ts [--sequential 2000] [--concurrency 16,64] [--relay]
 */
import { spawn } from 'node:child_process';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BenchClient } from './lib/http';
import { runLoad } from './lib/load';
import { LoadSampler } from './lib/machine';
import { Agent } from 'node:http';
import { measureFirstPiece, measureLoad, measureSequential, type Target } from './lib/measure';
import {
  freePort,
  ManagedProcess,
  ProcessGroup,
  REPO_ROOT,
  startEmulator,
  type EmulatorProcess,
} from './lib/processes';
import { formatTable, print, resultHeader, runBench, writeResultJson } from './lib/results';
import { stopOnSignal } from './lib/stack';
import { round, roundSummary, summarize } from './lib/stats';
import { NDJSON, runStreams } from './lib/streams';
import { MESSAGE, fixedLatencyEmulator, fixedReply } from './lib/targets';
import { wholeNumber } from './lib/args';

const REGISTER_TS = join(REPO_ROOT, 'test', 'support', 'register-ts.js');
const START_TIMEOUT_MS = 60_000;
const BODY = { message: 'Explain duration risk in two sentences.' };

async function startFloorApp(
  group: ProcessGroup,
  env: Record<string, string> = {},
): Promise<{ app: ManagedProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--require', REGISTER_TS, join(REPO_ROOT, 'bench', 'floor-app.ts')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const app = group.add(new ManagedProcess('floor', child));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the floor app did not start in time')), START_TIMEOUT_MS);
    void app.exited.then(() => reject(new Error('the floor app exited before it listened')));
    createInterface({ input: child.stdout }).once('line', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { app, url: `http://127.0.0.1:${port}` };
}

const RELAY_SEQUENTIAL = 300;
const RELAY_WARM = 20;
const BURST_STREAMS = 64;
const BURST_ROUNDS = 3;

function ndjsonFirstLine(text: string): boolean {
  return text.includes('\n');
}

/** The relays on Nest + Fastify and on `node:http`, against the emulator direct. */
async function measureRelays(group: ProcessGroup, seconds: number) {
  const emulator: EmulatorProcess = await startEmulator(group, fixedLatencyEmulator(50, 5, 0));
  const direct = {
    url: emulator.url,
    path: '/api/chat',
    body: { model: 'llama3.1:latest', messages: [{ role: 'user', content: MESSAGE }], stream: false },
    processes: [emulator],
  };
  const relays: Array<{ name: string; url: string; app: ManagedProcess }> = [];
  for (const server of ['nest', 'plain']) {
    const { app, url } = await startFloorApp(group, { UPSTREAM: emulator.url, FLOOR_SERVER: server });
    relays.push({ name: server === 'nest' ? 'Nest + Fastify relay' : 'node:http relay', url, app });
  }
  const plainTargets: Target[] = [
    { name: 'direct', ...direct },
    ...relays.map((r) => ({
      name: r.name,
      url: r.url,
      path: '/relay',
      body: { message: MESSAGE },
      processes: [r.app, emulator],
    })),
  ];
  const streamTargets: Target[] = [
    { name: 'direct', ...direct, streamBody: { ...direct.body, stream: true }, isFirstPiece: ndjsonFirstLine },
    ...relays.map((r) => ({
      name: r.name,
      url: r.url,
      path: '/relay-stream',
      body: {},
      streamBody: { message: MESSAGE },
      isFirstPiece: ndjsonFirstLine,
      processes: [r.app, emulator],
    })),
  ];
  print(`relays: one at a time (${RELAY_SEQUENTIAL} each) ...`);
  const sequential = await measureSequential(plainTargets, RELAY_SEQUENTIAL, RELAY_WARM);
  print('relays: first streamed line ...');
  const firstLine = await measureFirstPiece(streamTargets, RELAY_SEQUENTIAL / 3, RELAY_WARM);
  print(`relays: ${BURST_STREAMS} streams started together (200 tokens, one every 20 ms) ...`);
  await emulator.configure({ tokenDelayMs: 20, replyText: fixedReply(200) });
  const burst = await firstTokenOfBursts(streamTargets);
  print('relays: 16 connections, upstream answering at once ...');
  await emulator.configure({ tokenDelayMs: 0, replyText: fixedReply(5) });
  const instant = await measureLoad(plainTargets, { connections: 16, rounds: 2, seconds, warmupSeconds: 1 });
  return plainTargets.map((t) => ({
    name: t.name,
    sequentialP50: sequential[t.name].latency.p50,
    sequentialAddedP50: round(sequential[t.name].latency.p50 - sequential['direct'].latency.p50),
    firstLineAddedP50: round(firstLine[t.name].p50 - firstLine['direct'].p50),
    burstFirstLineAddedP50: round((burst[t.name] ?? Number.NaN) - (burst['direct'] ?? Number.NaN)),
    instantRps: instant[t.name].rps,
    instantCpuMsPerRequest: t.name === 'direct' ? undefined : instant[t.name].cpuMsPerRequest[t.processes[0].name],
  }));
}

/** p50 of the first line of every stream, `BURST_STREAMS` started together, rounds alternating targets. */
async function firstTokenOfBursts(targets: Target[]): Promise<Record<string, number>> {
  const agents = targets.map(() => new Agent({ keepAlive: true, maxSockets: BURST_STREAMS }));
  const first = targets.map((): number[] => []);
  try {
    for (let r = -1; r < BURST_ROUNDS; r++) {
      for (const [i, target] of targets.entries()) {
        const url = `${target.url}${target.path}`;
        const streams = await runStreams(url, target.streamBody, NDJSON, BURST_STREAMS, agents[i]);
        if (r >= 0) {
          first[i].push(...streams.map((s) => s.firstTokenMs));
        }
      }
    }
  } finally {
    agents.forEach((agent) => agent.destroy());
  }
  return Object.fromEntries(targets.map((t, i) => [t.name, round(summarize(first[i]).p50)]));
}

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/floor.ts [options]
  --sequential N      sequential requests per target, after 200 unmeasured (default 2000)
  --concurrency LIST  autocannon connections, comma-separated (default 16,64)
  --duration S        measured seconds per load (default 5)
  --relay             also measure the cheapest gateway: an undici relay on Nest + Fastify and on node:http
  --out FILE          results (default bench/results/floor-<date>.json)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      sequential: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '16,64' },
      duration: { type: 'string', default: '5' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      relay: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return;
  }
  const sequentialCount = wholeNumber('sequential', values.sequential);
  const seconds = wholeNumber('duration', values.duration);
  const group = new ProcessGroup();
  stopOnSignal(group);
  const loadSampler = new LoadSampler();
  loadSampler.start();
  try {
    const { app, url } = await startFloorApp(group);
    const client = new BenchClient(url);
    const latencies: number[] = [];
    let cpuBefore = 0;
    try {
      for (let i = 0; i < 200 + sequentialCount; i++) {
        if (i === 200) {
          cpuBefore = app.cpuMs();
        }
        const response = await client.postJson('/echo', BODY);
        if (response.status !== 200) {
          throw new Error(`the floor app answered ${response.status}`);
        }
        if (i >= 200) {
          latencies.push(response.ms);
        }
      }
    } finally {
      client.close();
    }
    const sequential = {
      latency: roundSummary(summarize(latencies)),
      cpuMsPerRequest: round((app.cpuMs() - cpuBefore) / sequentialCount),
    };
    const load = [];
    for (const connections of values.concurrency.split(',').map((c) => wholeNumber('concurrency', c.trim()))) {
      const before = app.cpuMs();
      const run = await runLoad({ url: `${url}/echo`, body: BODY }, connections, seconds, 1);
      const summary = summarize(run.latencies);
      load.push({
        concurrency: connections,
        p50: round(summary.p50),
        p99: round(summary.p99),
        rps: round(run.latencies.length / run.seconds, 1),
        errors: run.errors,
        cpuMsPerRequest: round((app.cpuMs() - before) / run.responses),
      });
    }
    print('bare Nest + Fastify echo route: latency in ms, CPU time per request in ms');
    print(
      formatTable([
        ['measurement', 'p50', 'p99', 'req/s', 'CPU/req'],
        ['sequential', sequential.latency.p50, sequential.latency.p99, '', sequential.cpuMsPerRequest],
        ...load.map((l) => [`c=${l.concurrency}`, l.p50, l.p99, l.rps, l.cpuMsPerRequest]),
      ]),
    );
    const relays = values.relay ? await measureRelays(group, seconds) : undefined;
    if (relays !== undefined) {
      print('\nthe cheapest gateway: latency added to the emulator direct (50 ms upstream), in ms');
      print(
        formatTable([
          [
            'target',
            'one at a time p50',
            'added p50',
            'first line added p50',
            `${BURST_STREAMS} streams: first line added p50`,
            '0 ms c=16 req/s',
            'CPU/req',
          ],
          ...relays.map((r) => [
            r.name,
            r.sequentialP50,
            r.sequentialAddedP50,
            r.firstLineAddedP50,
            r.burstFirstLineAddedP50,
            r.instantRps,
            r.instantCpuMsPerRequest ?? '',
          ]),
        ]),
      );
    }
    const finalLoad = loadSampler.stop();
    print(`load average during the run: mean ${finalLoad.mean}, max ${finalLoad.max}`);
    const written = writeResultJson(
      'floor',
      {
        ...resultHeader('floor'),
        loadAverage: finalLoad,
        sequential,
        load,
        relays,
      },
      values.out,
    );
    print(`results: ${relative(process.cwd(), written)}`);
  } finally {
    loadSampler.stop();
    await group.stopAll();
  }
}

runBench('floor benchmark', main);

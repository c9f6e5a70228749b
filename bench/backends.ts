/**
 * Several Ollama servers behind one gateway (OLLAMA_URLS), and two of the newer routes against Ollama
 * reached directly. Each Ollama server is an emulator process whose model answers in a fixed time and
 * serves a fixed number of requests at once (a GPU's capacity), so adding servers adds capacity:
 *
 * 1. capacity: for 1, 2 and 3 servers, the throughput of the gateway in front of all of them against
 *    the sum of each server reached directly at the same time, with the same total of connections;
 * 2. routes: `/v1/embeddings` against Ollama's `/api/embed` and the gateway's `/api/chat` against
 *    Ollama's `/api/chat`, at 16 connections, as ratios of direct throughput (target ≥ 0.9).
 *
 *   npm run bench:backends -- [--seconds S] [--rounds N] [--connections N]
 * Writes bench/results/backends-<date>.json.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { wholeNumber } from './lib/args';
import { runLoad, type LoadRun } from './lib/load';
import { LoadSampler, machineFacts } from './lib/machine';
import {
  buildService,
  ProcessGroup,
  REPO_ROOT,
  startEmulator,
  startService,
  type EmulatorProcess,
} from './lib/processes';
import { formatNumber, formatTable, print, runBench, writeResultJson } from './lib/results';
import { defaultWorkDir, stopOnSignal } from './lib/stack';

const USAGE = `Usage: npm run bench:backends -- [options]
  --seconds S        measured seconds per run (default 8)
  --warmup S         unmeasured seconds at the start of each run (default 2)
  --rounds N         runs per target, interleaved (default 2)
  --connections N    connections per Ollama server in the capacity runs (default 16)
  --out FILE         results file (default bench/results/backends-<date>.json)`;

const MODEL = 'llama3.1:latest';
const EMBEDDER = 'nomic-embed-text:latest';
/** A model that answers 5 tokens, 10 ms apart, and 4 requests at once per server: about 80 answers a second. */
const SERVER = { models: [MODEL, EMBEDDER], tokenDelayMs: 10, numParallel: 4, replyText: 'one two three four five' };
const CHAT = { model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: false };

interface Throughput {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Answers per second over `runs`; `parallel` of them ran side by side each time, so their seconds overlap. */
function throughputOf(runs: LoadRun[], parallel = 1): Throughput {
  const latencies = runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0) / parallel;
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    rps: Math.round((latencies.length / seconds) * 10) / 10,
    p50: Math.round(at(0.5) * 100) / 100,
    p99: Math.round(at(0.99) * 100) / 100,
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '2' },
      connections: { type: 'string', default: '16' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return;
  }
  const seconds = wholeNumber('seconds', values.seconds);
  const warmup = wholeNumber('warmup', values.warmup, 0);
  const rounds = wholeNumber('rounds', values.rounds);
  const perServer = wholeNumber('connections', values.connections);
  const group = new ProcessGroup();
  stopOnSignal(group);
  const load = new LoadSampler();
  load.start();
  try {
    const workDir = defaultWorkDir();
    const built = buildService(REPO_ROOT, workDir);
    const servers: EmulatorProcess[] = [];
    for (let i = 0; i < 3; i++) {
      servers.push(await startEmulator(group, SERVER));
    }
    const capacity: Array<{ servers: number; direct: Throughput; gateway: Throughput; ratio: number }> = [];
    for (const count of [1, 2, 3]) {
      const used = servers.slice(0, count);
      const service = await startService(group, {
        built,
        ollamaUrl: used[0].url,
        env: { OLLAMA_URLS: used.map((server) => server.url).join(','), OLLAMA_MODEL: MODEL, OLLAMA_MODELS: EMBEDDER },
        cwd: workDir,
      });
      await waitReady(service.url);
      const direct: LoadRun[] = [];
      const gateway: LoadRun[] = [];
      for (let round = 0; round < rounds; round++) {
        // Every server reached directly at once, each with its share of the connections.
        direct.push(
          ...(await Promise.all(
            used.map((server) => runLoad({ url: `${server.url}/api/chat`, body: CHAT }, perServer, seconds, warmup)),
          )),
        );
        gateway.push(await runLoad({ url: `${service.url}/api/chat`, body: CHAT }, perServer * count, seconds, warmup));
      }
      const directSum = throughputOf(direct, count);
      const through = throughputOf(gateway);
      capacity.push({
        servers: count,
        direct: directSum,
        gateway: through,
        ratio: round2(through.rps / directSum.rps),
      });
      await service.stop();
    }

    const service = await startService(group, {
      built,
      ollamaUrl: servers[0].url,
      env: { OLLAMA_MODEL: MODEL, OLLAMA_MODELS: EMBEDDER },
      cwd: workDir,
    });
    await waitReady(service.url);
    const embed = { direct: [] as LoadRun[], gateway: [] as LoadRun[] };
    const chat = { direct: [] as LoadRun[], gateway: [] as LoadRun[] };
    const embedBody = { model: EMBEDDER, input: ['The quick brown fox jumps over the lazy dog'] };
    const openAiEmbedBody = { model: EMBEDDER, input: 'The quick brown fox jumps over the lazy dog' };
    for (let round = 0; round < rounds; round++) {
      embed.direct.push(await runLoad({ url: `${servers[0].url}/api/embed`, body: embedBody }, 16, seconds, warmup));
      embed.gateway.push(
        await runLoad({ url: `${service.url}/v1/embeddings`, body: openAiEmbedBody }, 16, seconds, warmup),
      );
      chat.direct.push(await runLoad({ url: `${servers[0].url}/api/chat`, body: CHAT }, 16, seconds, warmup));
      chat.gateway.push(await runLoad({ url: `${service.url}/api/chat`, body: CHAT }, 16, seconds, warmup));
    }
    const routes = [
      {
        route: '/v1/embeddings vs /api/embed',
        direct: throughputOf(embed.direct),
        gateway: throughputOf(embed.gateway),
      },
      { route: '/api/chat vs /api/chat', direct: throughputOf(chat.direct), gateway: throughputOf(chat.gateway) },
    ].map((row) => ({ ...row, ratio: round2(row.gateway.rps / row.direct.rps), target: 0.9 }));

    print('Capacity: N Ollama servers through one gateway, against each reached directly at the same time');
    print(
      formatTable([
        [
          'servers',
          'connections',
          'direct (sum) req/s',
          'gateway req/s',
          '× direct',
          'gateway p50 ms',
          'gateway p99 ms',
          'errors',
        ],
        ...capacity.map((row) => [
          row.servers,
          perServer * row.servers,
          formatNumber(row.direct.rps),
          formatNumber(row.gateway.rps),
          formatNumber(row.ratio),
          formatNumber(row.gateway.p50),
          formatNumber(row.gateway.p99),
          row.gateway.errors + row.direct.errors,
        ]),
      ]),
    );
    print();
    print('Routes at 16 connections, one server');
    print(
      formatTable([
        ['route', 'direct req/s', 'gateway req/s', '× direct', 'target', 'met'],
        ...routes.map((row) => [
          row.route,
          formatNumber(row.direct.rps),
          formatNumber(row.gateway.rps),
          formatNumber(row.ratio),
          `≥ ${row.target}`,
          row.ratio >= row.target ? 'yes' : 'no',
        ]),
      ]),
    );
    const file = writeResultJson(
      'backends',
      {
        machine: machineFacts(),
        load: load.stop(),
        settings: { seconds, warmup, rounds, perServer, server: SERVER },
        capacity,
        routes,
      },
      values.out,
    );
    print(`\nresults: ${relative(process.cwd(), file)}`);
  } finally {
    await group.stopAll();
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/health/ready`).catch(() => undefined);
    if (response?.status === 200) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become ready`);
}

runBench('backends', main);

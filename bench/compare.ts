/**
 * A/B(/C...) test of changes: builds the service from several trees (say this repository and a
 * worktree with a patch), starts them all in front of one fixed-latency emulator, and measures the
 * emulator directly and every variant interleaved (sequential, then autocannon rounds whose order
 * rotates), so that a busy machine hits all of them alike. Reports latency, overhead against direct,
 * req/s, the CPU time each variant spends per request and its RSS.
 *
 *   node --require ./test/support/register-ts.js bench/compare.ts --variant main=. --variant patched=/tmp/bench-wt
 */
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchClient } from './lib/http';
import { LoadSampler } from './lib/machine';
import { measureLoad, measureSequential, type LoadResult, type Target } from './lib/measure';
import {
  buildService,
  ProcessGroup,
  startEmulator,
  startService,
  type EmulatorProcess,
  type ServiceProcess,
} from './lib/processes';
import { formatTable, print, resultHeader, runBench, writeResultJson } from './lib/results';
import { defaultWorkDir, stopOnSignal } from './lib/stack';
import { round } from './lib/stats';
import {
  directTarget,
  EMBEDDING_MODEL,
  embeddingsRoute,
  fixedLatencyEmulator,
  MESSAGE,
  routePair,
  serviceTarget,
  upstreamChatBody,
} from './lib/targets';
import { UsageError, wholeNumber } from './lib/args';

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/compare.ts --variant NAME=DIR ... [options]
  --variant NAME=DIR        a tree to build and measure, under NAME (two or more)
  --route R                 what is measured: chat (/chat against /api/chat) or embeddings
                            (/v1/embeddings of one input against /api/embed) (default chat)
  --upstream-ms N           latency of a non-streamed chat at the emulator; 0 answers at once (default 50)
  --tokens N                tokens in the emulator's fixed reply (default 5)
  --sequential N            sequential requests per target (default 200)
  --concurrency LIST        autocannon connections, comma-separated; "" for none (default 16,64)
  --duration S, --warmup S  measured and unmeasured seconds per run (default 5, 1)
  --rounds N                runs per target and concurrency, order rotating (default 3)
  --idle-after S            seconds without traffic after the load, over which each variant's lowest
                            RSS is taken (default 60; 0: none)
  --node-args NAME=FLAGS    Node flags for one variant, e.g. "slim=--max-semi-space-size=4" (repeatable)
  --env K=V,K=V             extra environment for every variant
  --env-for NAME=K=V,K=V    extra environment for one variant (repeatable)
  --work-dir DIR            builds and logs (default: <tmp>/llm-gateway-bench/compare)
  --out FILE                results (default bench/results/compare-<date>.json)`;

const SERVING_DEADLINE_MS = 120_000;
const IDLE_SETTLE_MS = 30_000;

/** Each variant's lowest RSS, MiB, over `seconds` of one sample a second. */
async function lowestRss(variants: Variant[], seconds: number): Promise<Record<string, number>> {
  const lowest = new Map(variants.map((v) => [v.name, v.service.rssMiB()]));
  for (let i = 0; i < seconds; i++) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
    variants.forEach((v) => lowest.set(v.name, Math.min(lowest.get(v.name) ?? Infinity, v.service.rssMiB())));
  }
  return Object.fromEntries([...lowest].map(([name, mib]) => [name, round(mib, 1)]));
}

function parsePairs(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

/** Waits for readiness and one successful chat, so that every variant starts the measurement warm. */
async function waitUntilServing(service: ServiceProcess, deadlineMs: number): Promise<void> {
  const client = new BenchClient(service.url);
  const started = Date.now();
  try {
    for (;;) {
      const ready = await client.get('/health/ready');
      if (ready.status === 200) {
        const chat = await client.postJson('/chat', { message: MESSAGE });
        if (chat.status === 200) {
          return;
        }
      }
      if (!service.isRunning || Date.now() - started > deadlineMs) {
        throw new Error(`${service.url} did not get ready within ${deadlineMs} ms`);
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
  } finally {
    client.close();
  }
}

/** `/api/embed` direct, then each variant's `/v1/embeddings`, with the variant's CPU time alone. */
async function embeddingTargets(variants: Variant[], emulator: EmulatorProcess): Promise<Target[]> {
  const targets: Target[] = [];
  for (const variant of variants) {
    const { pair, note } = await routePair(variant.service, emulator, embeddingsRoute(EMBEDDING_MODEL));
    if (pair === undefined) {
      throw new Error(`${variant.name}: ${note ?? '/v1/embeddings did not answer'}`);
    }
    if (targets.length === 0) {
      targets.push(pair.direct);
    }
    targets.push({ ...pair.service, name: variant.name, processes: [variant.service] });
  }
  return targets;
}

interface Variant {
  name: string;
  repo: string;
  service: ServiceProcess;
}

async function startVariant(
  group: ProcessGroup,
  {
    name,
    repo,
    nodeArgs,
    env: ownEnv,
  }: { name: string; repo: string; nodeArgs: string[]; env: Record<string, string> },
  workDir: string,
  emulator: EmulatorProcess,
  env: Record<string, string>,
): Promise<Variant> {
  const built = buildService(repo, join(workDir, name));
  const service = await startService(group, {
    built,
    ollamaUrl: emulator.url,
    env: { ...env, ...ownEnv },
    nodeArgs,
    cwd: join(workDir, name),
  });
  return { name, repo, service };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      variant: { type: 'string', multiple: true, default: [] },
      route: { type: 'string', default: 'chat' },
      'upstream-ms': { type: 'string', default: '50' },
      tokens: { type: 'string', default: '5' },
      sequential: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '16,64' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      'idle-after': { type: 'string', default: '60' },
      'node-args': { type: 'string', multiple: true, default: [] },
      env: { type: 'string', default: '' },
      'env-for': { type: 'string', multiple: true, default: [] },
      'work-dir': { type: 'string', default: join(defaultWorkDir(), 'compare') },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const requested = values.variant.map((v) => {
    const [name, dir] = [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)];
    if (name === '' || dir === '' || name === 'direct') {
      throw new UsageError(`--variant ${v}: expected NAME=DIR with a NAME other than "direct"`);
    }
    const flags = values['node-args'].find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? '';
    const ownEnv = values['env-for'].find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? '';
    return { name, repo: resolve(dir), nodeArgs: flags.split(' ').filter((f) => f !== ''), env: parsePairs(ownEnv) };
  });
  if (values.route !== 'chat' && values.route !== 'embeddings') {
    throw new UsageError(`--route must be chat or embeddings, got ${JSON.stringify(values.route)}`);
  }
  const embeddings = values.route === 'embeddings';
  if (values.help || requested.length < 2 || new Set(requested.map((v) => v.name)).size !== requested.length) {
    print(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const env = { ...(embeddings && { OLLAMA_MODELS: EMBEDDING_MODEL }), ...parsePairs(values.env) };
  const concurrencies = values.concurrency
    .split(',')
    .filter((c) => c.trim() !== '')
    .map((c) => wholeNumber('concurrency', c.trim()));
  const group = new ProcessGroup();
  stopOnSignal(group);
  const loadSampler = new LoadSampler();
  loadSampler.start();
  try {
    const emulator = await startEmulator(group, {
      ...fixedLatencyEmulator(
        wholeNumber('upstream-ms', values['upstream-ms'], 0),
        wholeNumber('tokens', values.tokens),
        0,
      ),
      ...(embeddings && { models: ['llama3.1:latest', EMBEDDING_MODEL] }),
    });
    const variants: Variant[] = [];
    for (const variant of requested) {
      print(`building ${variant.name} from ${variant.repo} ${variant.nodeArgs.join(' ')} ...`);
      variants.push(await startVariant(group, variant, values['work-dir'], emulator, env));
    }
    await Promise.all(variants.map((v) => waitUntilServing(v.service, SERVING_DEADLINE_MS)));
    // Read now: the emulator keeps only its last requests, and keep-warm traffic pushes chats out.
    const upstreamBody = await upstreamChatBody(emulator);
    // V8 gives back the memory of start-up garbage only after a while without allocations (its memory
    // reducer), at a moment of its choosing: the idle RSS is the lowest of one sample a second.
    const idleRss = await lowestRss(variants, IDLE_SETTLE_MS / 1000);
    const targets: Target[] = embeddings
      ? await embeddingTargets(variants, emulator)
      : [
          directTarget(emulator, upstreamBody),
          ...variants.map((v) => ({ ...serviceTarget(v.name, v.service, emulator), processes: [v.service] })),
        ];
    const sequentialCount = wholeNumber('sequential', values.sequential);
    print(`sequential (${sequentialCount} per target) ...`);
    const sequential = await measureSequential(targets, sequentialCount, 20);
    const load: Array<{ concurrency: number; results: Record<string, LoadResult> }> = [];
    for (const connections of concurrencies) {
      const results = await measureLoad(targets, {
        connections,
        rounds: wholeNumber('rounds', values.rounds),
        seconds: wholeNumber('duration', values.duration),
        warmupSeconds: wholeNumber('warmup', values.warmup, 0),
        onRun: (target, roundIndex, run) =>
          print(`  c=${connections} round ${roundIndex + 1} ${target.name}: ${run.latencies.length} responses`),
      });
      load.push({ concurrency: connections, results });
    }
    const loadedRss = Object.fromEntries(variants.map((v) => [v.name, round(v.service.rssMiB(), 1)]));
    const idleAfterSeconds = wholeNumber('idle-after', values['idle-after'], 0);
    if (idleAfterSeconds > 0) {
      print(`idle for ${idleAfterSeconds} s ...`);
    }
    const idleAfterLoadRss = idleAfterSeconds > 0 ? await lowestRss(variants, idleAfterSeconds) : {};
    const loadAverage = loadSampler.stop();

    const d = sequential['direct'].latency;
    print(
      `\nsequential, ms (overhead = variant − direct); load average mean ${loadAverage.mean}, max ${loadAverage.max}`,
    );
    print(
      formatTable([
        ['target', 'p50', 'p99', 'mean', 'overhead p50', 'overhead p99', 'service CPU/req', 'RSS idle MiB'],
        ['direct', d.p50, d.p99, d.mean, '', '', '', ''],
        ...variants.map(({ name }) => {
          const s = sequential[name];
          return [
            name,
            s.latency.p50,
            s.latency.p99,
            s.latency.mean,
            round(s.latency.p50 - d.p50),
            round(s.latency.p99 - d.p99),
            s.cpuMsPerRequest['service'] ?? Number.NaN,
            idleRss[name] ?? Number.NaN,
          ];
        }),
      ]),
    );
    for (const { concurrency, results } of load) {
      const direct = results['direct'];
      print(`\nc=${concurrency}`);
      print(
        formatTable([
          ['target', 'p50', 'p99', 'req/s', 'overhead p50', 'overhead p99', 'req/s ratio', 'service CPU/req', 'errors'],
          ['direct', direct.p50, direct.p99, direct.rps, '', '', '', '', direct.errors],
          ...variants.map(({ name }) => {
            const r = results[name];
            return [
              name,
              r.p50,
              r.p99,
              r.rps,
              round(r.p50 - direct.p50),
              round(r.p99 - direct.p99),
              round(r.rps / direct.rps, 4),
              r.cpuMsPerRequest['service'] ?? Number.NaN,
              r.errors,
            ];
          }),
        ]),
      );
    }
    print(`\nRSS after load, MiB: ${JSON.stringify(loadedRss)}`);
    if (idleAfterSeconds > 0) {
      print(`lowest RSS over the ${idleAfterSeconds} s after the load, MiB: ${JSON.stringify(idleAfterLoadRss)}`);
    }
    const written = writeResultJson(
      'compare',
      {
        ...resultHeader('compare'),
        loadAverage,
        variants: requested,
        settings: { ...values, variant: undefined, 'node-args': undefined, 'env-for': undefined, help: undefined },
        sequential,
        load,
        rss: { idle: idleRss, afterLoad: loadedRss, idleAfterLoad: idleAfterLoadRss },
      },
      values.out,
    );
    print(`results: ${relative(process.cwd(), written)}`);
  } finally {
    loadSampler.stop();
    await group.stopAll();
  }
}

runBench('compare', main);

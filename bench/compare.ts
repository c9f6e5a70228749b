/**
 * A/B test of a change: builds the service from two trees (say this repository and a worktree with a
 * patch), starts both in front of one fixed-latency emulator, and measures the emulator directly and
 * both services interleaved (sequential, then autocannon rounds whose order rotates), so that a busy
 * machine hits all three alike. Reports latency, overhead against direct, req/s, the CPU time each
 * service spends per request and its RSS.
 *
 *   node --require ./test/support/register-ts.js bench/compare.ts --b /tmp/bench-wt [--a .] [--label-b "patch"]
 */
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchClient } from './lib/http';
import { LoadSampler, machineFacts } from './lib/machine';
import { measureLoad, measureSequential, type LoadResult, type Target } from './lib/measure';
import {
  buildService,
  ProcessGroup,
  REPO_ROOT,
  startEmulator,
  startService,
  type EmulatorProcess,
  type ServiceProcess,
} from './lib/processes';
import { formatTable, print, writeResultJson } from './lib/results';
import { defaultWorkDir, stopOnSignal } from './lib/stack';
import { round } from './lib/stats';
import { directTarget, fixedLatencyEmulator, MESSAGE, serviceTarget, upstreamChatBody } from './lib/targets';

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/compare.ts --b DIR [options]
  --a DIR, --b DIR          the two trees to build (default --a: this repository)
  --label-a, --label-b      their names in the tables (default "a", "b")
  --upstream-ms N           latency of a non-streamed chat at the emulator (default 50)
  --tokens N                tokens in the emulator's fixed reply (default 5)
  --sequential N            sequential requests per target (default 200)
  --concurrency LIST        autocannon connections (default 16,64)
  --duration S, --warmup S  measured and unmeasured seconds per run (default 5, 1)
  --rounds N                runs per target and concurrency, order rotating (default 3)
  --env K=V,K=V             extra environment for both services
  --work-dir DIR            builds and logs (default: <tmp>/llm-gateway-bench/compare)
  --out FILE                results (default bench/results/compare-<date>.json)`;

function wholeNumber(name: string, text: string, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

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
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.close();
  }
}

async function startVariant(
  group: ProcessGroup,
  repo: string,
  workDir: string,
  emulator: EmulatorProcess,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const built = buildService(repo, workDir);
  return startService(group, { built, ollamaUrl: emulator.url, env, cwd: workDir });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      a: { type: 'string', default: REPO_ROOT },
      b: { type: 'string' },
      'label-a': { type: 'string', default: 'a' },
      'label-b': { type: 'string', default: 'b' },
      'upstream-ms': { type: 'string', default: '50' },
      tokens: { type: 'string', default: '5' },
      sequential: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '16,64' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      env: { type: 'string', default: '' },
      'work-dir': { type: 'string', default: join(defaultWorkDir(), 'compare') },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || values.b === undefined) {
    print(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const labels = { a: values['label-a'], b: values['label-b'] };
  if (labels.a === labels.b || labels.a === 'direct' || labels.b === 'direct') {
    throw new Error('--label-a and --label-b must differ from each other and from "direct"');
  }
  const env = parseEnv(values.env);
  const group = new ProcessGroup();
  stopOnSignal(group);
  const loadSampler = new LoadSampler();
  loadSampler.start();
  try {
    const emulator = await startEmulator(
      group,
      fixedLatencyEmulator(wholeNumber('upstream-ms', values['upstream-ms']), wholeNumber('tokens', values.tokens), 0),
    );
    print(`building ${labels.a} (${values.a}) and ${labels.b} (${values.b}) ...`);
    const a = await startVariant(group, values.a, join(values['work-dir'], 'a'), emulator, env);
    const b = await startVariant(group, values.b, join(values['work-dir'], 'b'), emulator, env);
    await Promise.all([waitUntilServing(a, 120_000), waitUntilServing(b, 120_000)]);
    const idleRss = { [labels.a]: round(a.rssMiB(), 1), [labels.b]: round(b.rssMiB(), 1) };
    const upstreamBody = await upstreamChatBody(emulator);
    const targetA = { ...serviceTarget(labels.a, a, emulator), processes: [a] };
    const targetB = { ...serviceTarget(labels.b, b, emulator), processes: [b] };
    const targets: Target[] = [directTarget(emulator, upstreamBody), targetA, targetB];

    const sequentialCount = wholeNumber('sequential', values.sequential);
    print(`sequential (${sequentialCount} per target) ...`);
    const sequential = await measureSequential(targets, sequentialCount, 20);
    const load: Array<{ concurrency: number; results: Record<string, LoadResult> }> = [];
    for (const connections of values.concurrency.split(',').map((c) => wholeNumber('concurrency', c.trim()))) {
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
    const loadedRss = { [labels.a]: round(a.rssMiB(), 1), [labels.b]: round(b.rssMiB(), 1) };
    const loadAverage = loadSampler.stop();

    const d = sequential['direct'].latency;
    print(
      `\nsequential, ms (overhead = variant − direct); load average mean ${loadAverage.mean}, max ${loadAverage.max}`,
    );
    print(
      formatTable([
        ['target', 'p50', 'p99', 'mean', 'overhead p50', 'overhead p99', 'service CPU/req', 'RSS idle MiB'],
        ['direct', d.p50, d.p99, d.mean, '', '', '', ''],
        ...[labels.a, labels.b].map((name) => {
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
          ...[labels.a, labels.b].map((name) => {
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
    const written = writeResultJson(
      'compare',
      {
        bench: 'compare',
        date: new Date().toISOString(),
        machine: machineFacts(),
        loadAverage,
        variants: { [labels.a]: values.a, [labels.b]: values.b },
        settings: { ...values, help: undefined },
        sequential,
        load,
        rss: { idle: idleRss, afterLoad: loadedRss },
      },
      values.out,
    );
    print(`results: ${relative(process.cwd(), written)}`);
  } finally {
    loadSampler.stop();
    await group.stopAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`compare failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

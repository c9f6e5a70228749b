/**
 * The five-prompt latency table people run against local LLM back ends: from "Hi" to a ~310-character
 * analytical prompt, each sent `--iterations` times (non-streamed `POST /chat`) after a warm-up
 * request, with min, max, mean, median and standard deviation per scenario and overall.
 *
 * Against a running service (a real Ollama behind it gives the numbers users see):
 *   node --require ./test/support/register-ts.js bench/scenarios.ts --url http://127.0.0.1:3000 [--api-key K]
 * Without --url it builds the service and starts it in front of the emulator, as the overhead bench does.
 * Writes bench/results/scenarios-<date>.json.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { wholeNumber } from './lib/args';
import { BenchClient } from './lib/http';
import { LoadSampler, machineFacts } from './lib/machine';
import { ProcessGroup, REPO_ROOT } from './lib/processes';
import { formatTable, print, runBench, writeResultJson } from './lib/results';
import { defaultWorkDir, startStack, stopOnSignal } from './lib/stack';
import { roundSummary, summarize, type Summary } from './lib/stats';

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/scenarios.ts [options]
  --url URL            a running service (default: build one and start it in front of the emulator)
  --api-key KEY        sent as "Authorization: Bearer KEY"
  --iterations N       measured requests per scenario (default 5)
  --warmup N           unmeasured requests per scenario before them (default 1)
  --ready-timeout S    seconds to wait for /health/ready to answer 200 first (default 300)
  --token-delay-ms N   without --url: the emulator's delay per generated token (default 5)
  --repo DIR           without --url: build the service from this tree (default: this repository)
  --work-dir DIR       without --url: build and service log (default: <tmp>/llm-gateway-bench)
  --out FILE           results file (default bench/results/scenarios-<date>.json)`;

interface Scenario {
  name: string;
  message: string;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'greeting', message: 'Hi' },
  { name: 'arithmetic', message: 'What is 2+2?' },
  { name: 'one-sentence explanation', message: 'Explain machine learning in one sentence' },
  {
    name: 'detailed explanation',
    message: 'Explain how neural networks work with activation functions and backpropagation in detail',
  },
  {
    name: 'analytical prompt',
    message:
      'Analyze the trade-offs of deploying a customer recommendation model as a real-time API versus precomputed ' +
      'nightly batch scores. Weigh latency, infrastructure cost, model freshness, cold-start users, A/B testing ' +
      'and data-drift monitoring, then recommend one approach for a mid-size online retailer and justify it.',
  },
];

interface Sample {
  ms: number;
  status: number;
  /** From the service's answer, when it succeeded. */
  completionTokens?: number;
  tokensPerSecond?: number;
  serverTotalMs?: number;
  error?: string;
}

interface ScenarioResult {
  name: string;
  promptChars: number;
  latency: Summary;
  errors: number;
  meanCompletionTokens: number;
  meanTokensPerSecond: number;
  samples: Sample[];
}

interface ChatAnswer {
  usage?: { completionTokens?: number };
  timings?: { tokensPerSecond?: number; totalMs?: number };
}

async function ask(client: BenchClient, message: string, headers: Record<string, string>): Promise<Sample> {
  try {
    const response = await client.postJson('/chat', { message }, headers);
    if (response.status !== 200) {
      return { ms: response.ms, status: response.status, error: response.body.slice(0, 300) };
    }
    const answer = JSON.parse(response.body) as ChatAnswer;
    return {
      ms: response.ms,
      status: response.status,
      completionTokens: answer.usage?.completionTokens,
      tokensPerSecond: answer.timings?.tokensPerSecond,
      serverTotalMs: answer.timings?.totalMs,
    };
  } catch (error) {
    return { ms: Number.NaN, status: 0, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Waits for readiness; a service that never gets ready is still measured (its errors are the result). */
async function waitForReady(client: BenchClient, timeoutSeconds: number): Promise<boolean> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    try {
      const { status } = await client.get('/health/ready');
      if (status === 200) {
        return true;
      }
      if (status === 404) {
        return false;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

function mean(values: Array<number | undefined>): number {
  const known = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return known.length === 0 ? Number.NaN : Math.round((known.reduce((s, v) => s + v, 0) / known.length) * 100) / 100;
}

async function runScenarios(
  client: BenchClient,
  iterations: number,
  warmup: number,
  headers: Record<string, string>,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const scenario of SCENARIOS) {
    for (let i = 0; i < warmup; i++) {
      await ask(client, scenario.message, headers);
    }
    const samples: Sample[] = [];
    for (let i = 0; i < iterations; i++) {
      const sample = await ask(client, scenario.message, headers);
      samples.push(sample);
      print(
        `  ${scenario.name} #${i + 1}: ${sample.error === undefined ? `${sample.ms.toFixed(1)} ms` : `failed (${sample.status}) ${sample.error}`}`,
      );
    }
    const ok = samples.filter((s) => s.error === undefined);
    results.push({
      name: scenario.name,
      promptChars: scenario.message.length,
      latency: roundSummary(summarize(ok.map((s) => s.ms))),
      errors: samples.length - ok.length,
      meanCompletionTokens: mean(ok.map((s) => s.completionTokens)),
      meanTokensPerSecond: mean(ok.map((s) => s.tokensPerSecond)),
      samples,
    });
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      iterations: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'ready-timeout': { type: 'string', default: '300' },
      'token-delay-ms': { type: 'string', default: '5' },
      repo: { type: 'string', default: REPO_ROOT },
      'work-dir': { type: 'string', default: defaultWorkDir() },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return;
  }
  const iterations = wholeNumber('iterations', values.iterations);
  const warmup = wholeNumber('warmup', values.warmup, 0);
  const readyTimeout = wholeNumber('ready-timeout', values['ready-timeout'], 0);
  const headers: Record<string, string> =
    values['api-key'] === undefined ? {} : { authorization: `Bearer ${values['api-key']}` };

  const group = new ProcessGroup();
  stopOnSignal(group);
  const load = new LoadSampler();
  load.start();
  let target = values.url;
  try {
    if (target === undefined) {
      print(`building the service from ${values.repo} and starting it in front of the emulator ...`);
      const { service } = await startStack(group, {
        repo: values.repo,
        workDir: values['work-dir'],
        emulator: { tokenDelayMs: wholeNumber('token-delay-ms', values['token-delay-ms'], 0) },
      });
      target = service.url;
    }
    const client = new BenchClient(target);
    try {
      if (!(await waitForReady(client, readyTimeout))) {
        print(`warning: ${target}/health/ready did not answer 200 within ${readyTimeout} s; measuring anyway`);
      }
      print(`${SCENARIOS.length} scenarios × ${iterations} iterations against ${target}`);
      const results = await runScenarios(client, iterations, warmup, headers);
      const allOk = results.flatMap((r) => r.samples.filter((s) => s.error === undefined).map((s) => s.ms));
      const overall = roundSummary(summarize(allOk));
      const errors = results.reduce((sum, r) => sum + r.errors, 0);
      const loadAverage = load.stop();

      print('\nlatency per request in ms (client side, whole non-streamed answer)');
      print(
        formatTable([
          ['scenario', 'n', 'min', 'max', 'mean', 'median', 'stdev', 'tokens', 'tok/s', 'errors'],
          ...results.map((r) => [
            r.name,
            r.latency.count,
            r.latency.min,
            r.latency.max,
            r.latency.mean,
            r.latency.median,
            r.latency.stdev,
            r.meanCompletionTokens,
            r.meanTokensPerSecond,
            r.errors,
          ]),
          [
            'overall',
            overall.count,
            overall.min,
            overall.max,
            overall.mean,
            overall.median,
            overall.stdev,
            '',
            '',
            errors,
          ],
        ]),
      );
      const written = writeResultJson(
        'scenarios',
        {
          bench: 'scenarios',
          date: new Date().toISOString(),
          target: values.url === undefined ? 'service in front of the emulator (started by the bench)' : target,
          machine: machineFacts(),
          loadAverage,
          settings: {
            iterations,
            warmup,
            tokenDelayMs: values.url === undefined ? Number(values['token-delay-ms']) : undefined,
          },
          scenarios: results,
          overall,
          errors,
        },
        values.out,
      );
      print(`\nresults: ${relative(process.cwd(), written)}`);
      if (allOk.length === 0) {
        process.exitCode = 1;
      }
    } finally {
      client.close();
    }
  } finally {
    load.stop();
    await group.stopAll();
  }
}

runBench('scenarios benchmark', main);

/**
 * What one large `/v1/embeddings` request costs everyone else on the service: a batch of `--inputs`
 * texts (OpenAI allows 2 048) through the service, while a second connection asks `/health/live` every
 * 2 ms. The longest of those pings is how long the event loop was blocked handling the batch, which
 * every stream and request on the service waits out alike. Also reports the batch's time and the
 * service's CPU time for it.
 *
 *   node --require ./test/support/register-ts.js bench/embed-batch.ts [--repo DIR] [--inputs 2048] [--rounds 3]
 */
import { relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { wholeNumber } from './lib/args';
import { BenchClient, waitForStatus200 } from './lib/http';
import { LoadSampler } from './lib/machine';
import { ProcessGroup } from './lib/processes';
import { formatTable, print, resultHeader, runBench, writeResultJson } from './lib/results';
import { defaultWorkDir, startStack, stopOnSignal } from './lib/stack';
import { round, summarize } from './lib/stats';
import { EMBEDDING_MODEL } from './lib/targets';

const PING_GAP_MS = 2;
const READY_DEADLINE_MS = 60_000;

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/embed-batch.ts [options]
  --repo DIR      the tree to build and measure (default .)
  --inputs N      texts in the one /v1/embeddings batch (default 2048)
  --rounds N      measured batches, after one that warms the path (default 3)
  --work-dir DIR  build and logs (default: <tmp>/llm-gateway-bench/embed-batch)
  --out FILE      results (default bench/results/embed-batch-<date>.json)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      repo: { type: 'string', default: '.' },
      inputs: { type: 'string', default: '2048' },
      rounds: { type: 'string', default: '3' },
      'work-dir': { type: 'string', default: resolve(defaultWorkDir(), 'embed-batch') },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return;
  }
  const inputs = wholeNumber('inputs', values.inputs);
  const rounds = wholeNumber('rounds', values.rounds);
  const group = new ProcessGroup();
  stopOnSignal(group);
  const loadSampler = new LoadSampler();
  loadSampler.start();
  try {
    print(`building the service from ${values.repo} ...`);
    const { service } = await startStack(group, {
      repo: resolve(values.repo),
      workDir: values['work-dir'],
      emulator: { models: ['llama3.1:latest', EMBEDDING_MODEL] },
      serviceEnv: { OLLAMA_MODELS: EMBEDDING_MODEL },
    });
    await waitForStatus200(`${service.url}/health/ready`, READY_DEADLINE_MS, () => service.isRunning);
    const body = {
      model: EMBEDDING_MODEL,
      input: Array.from({ length: inputs }, (_, i) => `text number ${i} on duration risk`),
      encoding_format: 'float',
    };
    const client = new BenchClient(service.url);
    const pinger = new BenchClient(service.url);
    const runs: Array<{
      batchMs: number;
      serviceCpuMs: number;
      bytes: number;
      worstPingMs: number;
      pingP99Ms: number;
    }> = [];
    try {
      // The first batch warms the path; it is not counted.
      await client.postJson('/v1/embeddings', body);
      for (let i = 0; i < rounds; i++) {
        const cpuBefore = service.cpuMs();
        let done = false;
        const pings: number[] = [];
        const pinging = (async () => {
          while (!done) {
            pings.push((await pinger.get('/health/live')).ms);
            await sleep(PING_GAP_MS);
          }
        })();
        const answer = await client.postJson('/v1/embeddings', body);
        done = true;
        await pinging;
        if (answer.status !== 200) {
          throw new Error(`/v1/embeddings answered ${answer.status}: ${answer.body.slice(0, 300)}`);
        }
        runs.push({
          batchMs: round(answer.ms),
          serviceCpuMs: round(service.cpuMs() - cpuBefore),
          bytes: Buffer.byteLength(answer.body),
          worstPingMs: round(Math.max(...pings)),
          pingP99Ms: summarize(pings).p99,
        });
        print(`  round ${i + 1}: ${JSON.stringify(runs[runs.length - 1])}`);
      }
    } finally {
      client.close();
      pinger.close();
    }
    const loadAverage = loadSampler.stop();
    print(`\n${inputs} inputs; load average mean ${loadAverage.mean}, max ${loadAverage.max}`);
    print(
      formatTable([
        ['round', 'batch ms', 'service CPU ms', 'answer bytes', 'longest ping ms', 'ping p99 ms'],
        ...runs.map((r, i) => [i + 1, r.batchMs, r.serviceCpuMs, r.bytes, r.worstPingMs, r.pingP99Ms]),
      ]),
    );
    const written = writeResultJson(
      'embed-batch',
      { ...resultHeader('embed-batch'), loadAverage, inputs, runs },
      values.out,
    );
    print(`results: ${relative(process.cwd(), written)}`);
  } finally {
    loadSampler.stop();
    await group.stopAll();
  }
}

runBench('embed-batch', main);

/**
 * The floor under any overhead figure: what a bare Nest + Fastify echo route (`bench/floor-app.ts`)
 * costs per request on this machine, sequentially and under autocannon load, in latency and CPU time.
 * The service cannot cost less than this; it tells a slow machine from a slow service.
 *
 *   node --require ./test/support/register-ts.js bench/floor.ts [--sequential 2000] [--concurrency 16,64]
 */
import { spawn } from 'node:child_process';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BenchClient } from './lib/http';
import { runLoad } from './lib/load';
import { LoadSampler, machineFacts } from './lib/machine';
import { freePort, ManagedProcess, ProcessGroup, REPO_ROOT } from './lib/processes';
import { formatTable, print, writeResultJson } from './lib/results';
import { stopOnSignal } from './lib/stack';
import { round, roundSummary, summarize } from './lib/stats';

const REGISTER_TS = join(REPO_ROOT, 'test', 'support', 'register-ts.js');
const START_TIMEOUT_MS = 60_000;
const BODY = { message: 'Explain duration risk in two sentences.' };

function wholeNumber(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`--${name} must be a whole number >= 1, got ${JSON.stringify(text)}`);
  }
  return value;
}

async function startFloorApp(group: ProcessGroup): Promise<{ app: ManagedProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--require', REGISTER_TS, join(REPO_ROOT, 'bench', 'floor-app.ts')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, PORT: String(port) },
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      sequential: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '16,64' },
      duration: { type: 'string', default: '5' },
      out: { type: 'string' },
    },
  });
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
    const loadAverage = loadSampler.stop();
    print('bare Nest + Fastify echo route: latency in ms, CPU time per request in ms');
    print(
      formatTable([
        ['measurement', 'p50', 'p99', 'req/s', 'CPU/req'],
        ['sequential', sequential.latency.p50, sequential.latency.p99, '', sequential.cpuMsPerRequest],
        ...load.map((l) => [`c=${l.concurrency}`, l.p50, l.p99, l.rps, l.cpuMsPerRequest]),
      ]),
    );
    print(`load average during the run: mean ${loadAverage.mean}, max ${loadAverage.max}`);
    const written = writeResultJson(
      'floor',
      { bench: 'floor', date: new Date().toISOString(), machine: machineFacts(), loadAverage, sequential, load },
      values.out,
    );
    print(`results: ${relative(process.cwd(), written)}`);
  } finally {
    loadSampler.stop();
    await group.stopAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `floor benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});

/**
 * What one more hop costs on this machine before any code runs: the round trip of one byte over a
 * loopback TCP connection to an echo process, sent back to back and after the echo process (and this
 * one) slept 1, 10 or 50 ms. A gateway adds one such hop to every request (client → gateway →
 * Ollama → gateway → client), and between requests it sleeps as long as Ollama works, so the round
 * trip after the upstream's latency is the part of its overhead no code can remove.
 *
 *   node --require ./test/support/register-ts.js bench/wakeup.ts [--count 400] [--gaps 0,1,10,50] [--out FILE]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { UsageError, wholeNumber } from './lib/args';
import { LoadSampler } from './lib/machine';
import { REPO_ROOT } from './lib/processes';
import { formatTable, print, resultHeader, runBench, writeResultJson } from './lib/results';
import { round, summarize } from './lib/stats';

const ECHO_ARG = '--echo-server';
const START_TIMEOUT_MS = 30_000;

/** The echo process: answers every byte with itself, and tells its parent its port. */
function runEchoServer(): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (data) => socket.write(data));
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
  process.on('disconnect', () => process.exit(0));
}

function roundTrip(socket: Socket): Promise<number> {
  const started = performance.now();
  socket.write('x');
  return once(socket, 'data').then(() => performance.now() - started);
}

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/wakeup.ts [options]
  --count N    round trips per gap, at least 10 (default 400)
  --gaps LIST  milliseconds both processes sleep before each round trip, comma-separated (default 0,1,10,50)
  --out FILE   results (default bench/results/wakeup-<date>.json)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== ECHO_ARG),
    options: {
      count: { type: 'string', default: '400' },
      gaps: { type: 'string', default: '0,1,10,50' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return;
  }
  const count = wholeNumber('count', values.count, 10);
  const gaps = values.gaps.split(',').map((gap) => wholeNumber('gaps', gap, 0));
  if (gaps.length === 0) {
    throw new UsageError('--gaps must name at least one gap in milliseconds');
  }
  const loadSampler = new LoadSampler();
  loadSampler.start();
  const child = fork(__filename, [ECHO_ARG], { execArgv: process.execArgv, stdio: 'inherit' });
  try {
    const [port] = (await Promise.race([
      once(child, 'message'),
      sleep(START_TIMEOUT_MS).then(() => Promise.reject(new Error('the echo process did not start in time'))),
    ])) as [number];
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const rows = [];
    for (const gapMs of gaps) {
      const samples: number[] = [];
      // Ten unmeasured round trips first, so the first gap's figures hold no start-up.
      for (let i = -10; i < count; i++) {
        await (gapMs === 0 ? new Promise((resolve) => setImmediate(resolve)) : sleep(gapMs));
        const ms = await roundTrip(socket);
        if (i >= 0) {
          samples.push(ms);
        }
      }
      const summary = summarize(samples);
      rows.push({ gapMs, p50: round(summary.p50), p90: round(summary.p90), p99: round(summary.p99) });
    }
    socket.destroy();
    print(`\none-byte round trip to an echo process, ms (${count} per gap)`);
    print(
      formatTable([
        ['slept before (ms)', 'p50', 'p90', 'p99'],
        ...rows.map((row) => [row.gapMs === 0 ? 'none' : row.gapMs, row.p50, row.p90, row.p99]),
      ]),
    );
    const result = {
      ...resultHeader('wakeup'),
      loadAverage: loadSampler.stop(),
      count,
      rows,
    };
    print(`results: ${relative(REPO_ROOT, writeResultJson('wakeup', result, values.out))}`);
  } finally {
    loadSampler.stop();
    child.disconnect();
  }
}

if (process.argv.includes(ECHO_ARG)) {
  runEchoServer();
} else {
  runBench('wakeup', main);
}

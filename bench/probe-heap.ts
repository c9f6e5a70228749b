/**
 * What the supervisor's probe of Ollama leaves on the service's lifetime signal: `--probes` calls of
 * `OllamaProbe.version` with one long-lived signal, against an Ollama emulator in this process, and
 * the heap after two full collections every `--every` calls. Beside it, the same number of
 * `AbortSignal.any` calls combining that kind of signal with a short-lived one, which is what the probe
 * did before `LinkedAbort`: on Node 20 each leaves an entry on the long-lived signal until it aborts.
 *
 *   node --require ./test/support/register-ts.js bench/probe-heap.ts [--probes 8000] [--every 2000] [--out FILE]
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { OllamaProbe } from '../src/ollama-process/ollama-probe';
import { OllamaEmulator } from '../test/emulator/ollama-emulator';
import { wholeNumber } from './lib/args';
import { formatTable, print, resultHeader, runBench, writeResultJson } from './lib/results';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

interface Sample {
  calls: number;
  heapUsedKiB: number;
  /** Entries the long-lived signal keeps for signals combined from it (Node's internal set), if any. */
  entries: number;
}

function entriesOn(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((symbol) => symbol.description === 'kDependantSignals');
  const set = key === undefined ? undefined : (signal as unknown as Record<symbol, Set<unknown> | undefined>)[key];
  return set?.size ?? 0;
}

async function sample(calls: number, lifetime: AbortSignal): Promise<Sample> {
  collect();
  await new Promise((resolve) => setImmediate(resolve));
  collect();
  return { calls, heapUsedKiB: Math.round(process.memoryUsage().heapUsed / 1024), entries: entriesOn(lifetime) };
}

async function measure(
  total: number,
  every: number,
  call: (lifetime: AbortSignal) => Promise<void>,
): Promise<Sample[]> {
  const lifetime = new AbortController().signal;
  const samples: Sample[] = [];
  for (let done = 0; done < total;) {
    for (let i = 0; i < every && done < total; i++, done++) {
      await call(lifetime);
    }
    samples.push(await sample(done, lifetime));
  }
  return samples;
}

const USAGE = `Usage: node --require ./test/support/register-ts.js bench/probe-heap.ts [options]
  --probes N  probes of Ollama with one long-lived signal (default 8000)
  --every N   probes between two readings of the heap (default 2000)
  --out FILE  results (default bench/results/probe-heap-<date>.json)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      probes: { type: 'string', default: '8000' },
      every: { type: 'string', default: '2000' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return;
  }
  const total = wholeNumber('probes', values.probes);
  const every = wholeNumber('every', values.every);
  const emulator = new OllamaEmulator();
  await emulator.start(0, '127.0.0.1');
  try {
    const probe = new OllamaProbe({ url: emulator.url });
    const probes = await measure(total, every, async (lifetime) => {
      const answer = await probe.version(lifetime);
      if (!answer.ok) {
        throw new Error(`the probe failed: ${answer.detail}`);
      }
    });
    const combined = await measure(total, every, (lifetime) => {
      // As the old probe's request did: listen to the combined signal until the answer, then stop.
      const combinedSignal = AbortSignal.any([lifetime, new AbortController().signal]);
      const listener = (): void => undefined;
      combinedSignal.addEventListener('abort', listener);
      combinedSignal.removeEventListener('abort', listener);
      return Promise.resolve();
    });
    const rows = (name: string, samples: Sample[]): Array<Array<string | number>> =>
      samples.map((s) => [name, s.calls, s.heapUsedKiB, s.entries]);
    print(
      formatTable([
        ['calls of', 'after', 'heap used (KiB)', 'entries on the lifetime signal'],
        ...rows('probe', probes),
        ...rows('AbortSignal.any', combined),
      ]),
    );
    const written = writeResultJson(
      'probe-heap',
      {
        ...resultHeader('probe-heap'),
        node: process.version,
        probes,
        combined,
      },
      values.out,
    );
    print(`\nresults: ${relative(process.cwd(), written)}`);
  } finally {
    await emulator.stop();
  }
}

runBench('probe-heap', main);

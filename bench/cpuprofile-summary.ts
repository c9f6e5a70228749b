/**
 * Summarises a `.cpuprofile` written by `node --cpu-prof`: the functions with the most self time, and
 * the same time grouped by origin (a package, Node's internals, the service's own modules, GC).
 *
 *   node --require ./test/support/register-ts.js bench/cpuprofile-summary.ts <file.cpuprofile> [--top 30] [--focus TEXT] [--skip-ms N]
 *     [--callers TEXT [--depth 4]]
 *
 * `--callers` splits the self time of the functions whose name or location contains TEXT by the chain
 * of frames that called them, e.g. to find who creates the abort signals.
 */
import { parseArgs } from 'node:util';
import { UsageError, wholeNumber } from './lib/args';
import { summarizeProfile } from './lib/cpuprofile';
import { formatTable, print, runBench } from './lib/results';

function main(): void {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: {
      top: { type: 'string', default: '30' },
      focus: { type: 'string' },
      'skip-ms': { type: 'string', default: '0' },
      callers: { type: 'string' },
      depth: { type: 'string', default: '4' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  const usage =
    'usage: bench/cpuprofile-summary.ts <file.cpuprofile> [--top N] [--focus TEXT] [--skip-ms N] [--callers TEXT [--depth N]] [--json]';
  if (values.help) {
    print(usage);
    return;
  }
  const path = positionals[0];
  if (path === undefined) {
    throw new UsageError(`name the profile to summarise; ${usage}`);
  }
  const summary = summarizeProfile(path, {
    top: wholeNumber('top', values.top),
    focus: values.focus,
    skipMs: wholeNumber('skip-ms', values['skip-ms'], 0),
    callers: values.callers,
    callerDepth: wholeNumber('depth', values.depth),
  });
  if (values.json) {
    print(JSON.stringify(summary, null, 2));
    return;
  }
  print(`${path}: ${summary.busyMs} ms busy, ${summary.idleMs} ms idle, of ${summary.totalMs} ms sampled`);
  print();
  print(
    formatTable([
      ['self time by origin', 'ms', '% of busy'],
      ...summary.byOrigin.map((r) => [r.name, r.selfMs, r.busyPercent]),
    ]),
  );
  print();
  print(
    formatTable([
      ['self time by function', 'ms', '% of busy'],
      ...summary.byFunction.map((r) => [r.name, r.selfMs, r.busyPercent]),
    ]),
  );
  print();
  print(
    formatTable([
      [
        `total time, callees included${values.focus === undefined ? '' : ` (matching ${values.focus})`}`,
        'ms',
        '% of busy',
      ],
      ...summary.inclusive.map((r) => [r.name, r.selfMs, r.busyPercent]),
    ]),
  );
  if (values.callers !== undefined) {
    print();
    print(
      formatTable([
        [`self time of ${values.callers} by caller`, 'ms', '% of busy'],
        ...summary.callers.map((r) => [r.name, r.selfMs, r.busyPercent]),
      ]),
    );
  }
}

runBench('cpuprofile-summary', () => Promise.resolve().then(main));

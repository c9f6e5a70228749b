/** Where results go, and how tables are printed. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from './args';
import { machineFacts, type MachineFacts } from './machine';
import { REPO_ROOT } from './processes';

/** The fields a results file opens with: which benchmark wrote it, when, and on what machine. */
export function resultHeader(bench: string): { bench: string; date: string; machine: MachineFacts } {
  return { bench, date: new Date().toISOString(), machine: machineFacts() };
}

/** `bench/results/<kind>-<YYYY-MM-DD>.json` unless `path` is given. Returns the path written. */
export function writeResultJson(kind: string, data: unknown, path?: string): string {
  const target = path ?? join(REPO_ROOT, 'bench', 'results', `${kind}-${new Date().toISOString().slice(0, 10)}.json`);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, `${JSON.stringify(data, null, 2)}\n`);
  return target;
}

/** A plain-text table: the first row is the header, numbers are right-aligned. */
export function formatTable(rows: Array<Array<string | number>>): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : cell)));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length))) ?? [];
  const line = (row: string[], raw: Array<string | number>): string =>
    row
      .map((cell, i) => (typeof raw[i] === 'number' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const [header, ...body] = cells;
  const separator = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header ?? [], rows[0] ?? []), separator, ...body.map((row, i) => line(row, rows[i + 1] ?? []))].join(
    '\n',
  );
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toFixed(2);
}

/** Writes to stdout; benchmarks are command-line tools whose output is the point. */
export function print(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/**
 * Runs a benchmark's `main`. A bad command line (a {@link UsageError}, or an option `parseArgs` does not
 * know) is printed as `<name>: <message>` and exits 2; any other failure is printed with its stack, as
 * `<name> failed: …`, and exits 1.
 */
export function runBench(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (isUsageError(error)) {
      process.stderr.write(`${name}: ${error.message} (--help lists the options)\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}

function isUsageError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'));
}

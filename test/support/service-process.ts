import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { eventually } from './eventually';

export { eventually } from './eventually';

const ROOT = join(__dirname, '..', '..');

/** A log record of the service (pino JSON), or `{ msg: <line> }` for a line that is not JSON. */
export type LogRecord = Record<string, unknown> & { msg?: string };

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The service running as `node dist/main.js` in a child process of the test. */
export interface ServiceProcess {
  readonly pid: number;
  /** Base URL such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Every log record so far, stdout and stderr, oldest first. */
  readonly logs: LogRecord[];
  readonly exited: Promise<ServiceExit>;
  /** Resolves with the first record (already written or to come) that `matches`; rejects after `timeoutMs`. */
  waitForLog(matches: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** SIGTERM, then the exit. */
  stop(): Promise<ServiceExit>;
  /** SIGKILL, then the exit: a crash, with no shutdown at all. */
  crash(): Promise<ServiceExit>;
}

/**
 * Compiles `dist/` when it is missing or older than the sources, with the same check `npm start` runs.
 * Takes a while on a cold tree: call it from `beforeAll` with a long timeout.
 * @throws when the compiler reports errors.
 */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-needed.js')], { cwd: ROOT, stdio: 'pipe' });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `node dist/main.js` (build it first with {@link ensureBuilt}) on a free loopback port with
 * `env` over the current environment (JSON logs at `info` unless given), and resolves once
 * `GET /health/live` answers 200.
 * @throws when the service exits or does not answer within `readyTimeoutMs`; the error holds its output.
 */
export async function startService(env: Record<string, string>, readyTimeoutMs = 30_000): Promise<ServiceProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogRecord[] = [];
  const watchers = new Set<() => void>();
  const collect = (line: string): void => {
    logs.push(parseLine(line));
    watchers.forEach((watch) => watch());
  };
  createInterface({ input: child.stdout! }).on('line', collect);
  createInterface({ input: child.stderr! }).on('line', collect);
  let exit: ServiceExit | undefined;
  const exited = new Promise<ServiceExit>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
  const url = `http://127.0.0.1:${port}`;

  const service: ServiceProcess = {
    pid: child.pid as number,
    url,
    logs,
    exited,
    waitForLog: (matches, timeoutMs = 20_000) =>
      new Promise<LogRecord>((resolve, reject) => {
        const check = (): void => {
          const found = logs.find(matches);
          if (found) {
            clearTimeout(timer);
            watchers.delete(check);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${describe(logs)}`));
        }, timeoutMs);
        watchers.add(check);
        check();
      }),
    stop: () => {
      if (exit === undefined) {
        child.kill('SIGTERM');
      }
      return exited;
    },
    crash: () => {
      if (exit === undefined) {
        child.kill('SIGKILL');
      }
      return exited;
    },
  };

  try {
    await eventually(
      async () => {
        if (exit !== undefined) {
          throw new Error(`the service exited with ${JSON.stringify(exit)}; output:\n${describe(logs)}`);
        }
        try {
          return (await fetch(`${url}/health/live`)).status === 200;
        } catch {
          return false;
        }
      },
      `${url}/health/live`,
      readyTimeoutMs,
    );
  } catch (error) {
    await service.crash();
    throw error;
  }
  return service;
}

function parseLine(line: string): LogRecord {
  try {
    const record: unknown = JSON.parse(line);
    if (record !== null && typeof record === 'object') {
      return record as LogRecord;
    }
  } catch {
    // not JSON: kept as text
  }
  return { msg: line };
}

function describe(logs: LogRecord[]): string {
  return logs.map((record) => `  ${typeof record.msg === 'string' ? record.msg : JSON.stringify(record)}`).join('\n');
}

/** Starts the fake `ollama` executable in its own process group and cleans up after each test. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { settlesWithin } from '../../emulator/test-helpers';
import { eventually } from '../../support/eventually';

const FAKE_OLLAMA = join(__dirname, '..', 'ollama');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FakeServer {
  child: ChildProcessByStdio<null, Readable, Readable>;
  pid: number;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<Exit>;
}

const spawned: FakeServer[] = [];
let home: string;

export function spawnFake(env: Record<string, string | undefined>, args: string[] = ['serve']): FakeServer {
  const fullEnv: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    FAKE_OLLAMA_HEARTBEAT_MS: '200',
  };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) {
      delete fullEnv[key];
    } else {
      fullEnv[key] = value;
    }
  }
  // Its own process group, as a manager starts it, so the whole group can be killed in cleanup.
  const child = spawn(FAKE_OLLAMA, args, { env: fullEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  if (child.pid === undefined) {
    throw new Error('fake ollama did not start');
  }
  const server: FakeServer = { child, pid: child.pid, stderr: () => stderr, stdout: () => stdout, exited };
  spawned.push(server);
  return server;
}

/** /proc/<pid>/stat fields after the command name: state, ppid, pgrp, … */
export function procStat(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('no port');
  }
  return address.port;
}

export async function waitForOutput(
  read: () => string,
  pattern: RegExp,
  what: string,
  timeoutMs = 20_000,
): Promise<RegExpMatchArray> {
  return eventually(what, () => pattern.exec(read()), timeoutMs);
}

export async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/version`, { signal: AbortSignal.timeout(2_000) });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function waitForReady(url: string): Promise<void> {
  await eventually(`${url} to answer /api/version`, () => answers(url), { timeoutMs: 20_000, intervalMs: 50 });
}

/** Starts `ollama serve` on an ephemeral loopback port and waits until it answers. */
export async function startFake(
  env: Record<string, string | undefined> = {},
): Promise<{ server: FakeServer; url: string; runnerPid: number }> {
  const server = spawnFake({ OLLAMA_HOST: '127.0.0.1:0', ...env });
  const [, port] = await waitForOutput(
    server.stderr,
    /Listening on 127\.0\.0\.1:(\d+) \(version/,
    'the Listening on line',
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(url);
  const [, runnerPid] = await waitForOutput(server.stderr, /msg="starting runner" pid=(\d+)/, 'the runner pid');
  return { server, url, runnerPid: Number(runnerPid) };
}

/** The hooks of a spec file: a HOME of its own for the servers, and each test's servers killed with their group after it. */
export function cleanUpFakeServers(): void {
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'fake-ollama-home-'));
  });

  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const server of spawned.splice(0)) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
      await settlesWithin(server.exited, 5_000);
    }
  });
}

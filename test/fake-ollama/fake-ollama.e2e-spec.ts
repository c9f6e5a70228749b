import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { parseOllamaHost } from '../emulator/ollama-host';
import { LineReader, parseRfc3339, settlesWithin, type Json } from '../emulator/test-helpers';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';

jest.setTimeout(60_000);

const FAKE_OLLAMA = join(__dirname, 'ollama');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface FakeServer {
  child: ChildProcessByStdio<null, Readable, Readable>;
  pid: number;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<Exit>;
}

const spawned: FakeServer[] = [];
let home: string;

function spawnFake(env: Record<string, string | undefined>, args: string[] = ['serve']): FakeServer {
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
function procStat(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('no port');
  }
  return address.port;
}

async function waitForOutput(
  read: () => string,
  pattern: RegExp,
  what: string,
  timeoutMs = 20_000,
): Promise<RegExpMatchArray> {
  return eventually(what, () => pattern.exec(read()), timeoutMs);
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/version`, { signal: AbortSignal.timeout(2_000) });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function waitForReady(url: string): Promise<void> {
  await eventually(`${url} to answer /api/version`, () => answers(url), { timeoutMs: 20_000, intervalMs: 50 });
}

/** Starts `ollama serve` on an ephemeral loopback port and waits until it answers. */
async function startFake(
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

describe('fake ollama executable', () => {
  it('serves the Ollama API on OLLAMA_HOST, logs like ollama serve and runs one runner in its process group', async () => {
    const port = await freePort();
    const server = spawnFake({ OLLAMA_HOST: `127.0.0.1:${port}` });
    const url = `http://127.0.0.1:${port}`;
    await waitForReady(url);

    expect(await (await fetch(`${url}/api/version`)).json()).toEqual({ version: '0.33.0' });
    expect(await (await fetch(`${url}/`)).text()).toBe('Ollama is running');
    const stderr = server.stderr();
    expect(stderr).toContain(`msg="Listening on 127.0.0.1:${port} (version 0.33.0)"`);
    expect(stderr).toMatch(
      /^time=\S+ level=INFO source=routes\.go:\d+ msg="server config" env="map\[.*OLLAMA_HOST:http:\/\/127\.0\.0\.1:\d+ OLLAMA_KEEP_ALIVE:5m0s .*\]"$/m,
    );

    const [, pidText] = await waitForOutput(server.stderr, /msg="starting runner" pid=(\d+)/, 'the runner pid');
    const runnerPid = Number(pidText);
    expect(isAlive(runnerPid)).toBe(true);
    expect(procStat(runnerPid)).toMatchObject({ ppid: server.pid, pgrp: server.pid });
    const cmdline = readFileSync(`/proc/${runnerPid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toEqual(expect.arrayContaining(['--model', '--port']));
    expect(cmdline.some((arg) => arg.endsWith('runner.js'))).toBe(true);

    const chat = (await (
      await postJson(`${url}/api/chat`, {
        model: 'llama3.1',
        stream: false,
        messages: [{ role: 'user', content: 'hi' }],
      })
    ).json()) as Json;
    expect(chat).toMatchObject({ done: true, done_reason: 'stop' });
    await waitForOutput(
      server.stdout,
      /\[GIN\] .* \| 200 \| .* \| +127\.0\.0\.1 \| POST +"\/api\/chat"/,
      'the gin access line',
    );

    process.kill(server.pid, 'SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await eventually('the runner to be gone', () => !isAlive(runnerPid), 5_000);
  });

  it('exits 0 on SIGINT, cutting open streams, and ignores a second signal', async () => {
    const { server, url, runnerPid } = await startFake({ FAKE_OLLAMA_TOKEN_DELAY_MS: '200' });
    const res = await postJson(`${url}/api/chat`, {
      model: 'llama3.1',
      messages: [{ role: 'user', content: 'tell me a long story' }],
    });
    const reader = LineReader.of(res);
    expect(JSON.parse((await reader.next()) ?? '')).toMatchObject({ done: false });

    process.kill(server.pid, 'SIGINT');
    process.kill(server.pid, 'SIGINT');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const lines: string[] = [];
    const drained = await settlesWithin(
      (async () => {
        for (let line = await reader.next(); line !== undefined; line = await reader.next()) {
          lines.push(line);
        }
      })().catch(() => 'cut'),
      5_000,
    );
    expect(drained).not.toBe('timeout');
    expect(lines.some((line) => line.includes('"done":true'))).toBe(false);
    expect(isAlive(runnerPid)).toBe(false);
  });

  it('binds an ephemeral port on every interface for OLLAMA_HOST=:0 and names it in the Listening line', async () => {
    const server = spawnFake({ OLLAMA_HOST: ':0' });
    const [, address, port] = await waitForOutput(
      server.stderr,
      /Listening on (\[::\]|0\.0\.0\.0):(\d+) \(version 0\.33\.0\)/,
      'the Listening on line',
    );
    expect(['[::]', '0.0.0.0']).toContain(address);
    await waitForReady(`http://127.0.0.1:${port}`);
    expect(server.stderr()).toContain('OLLAMA_HOST:http://:0');
  });

  it("exits 1 with Go's bind error when the port is taken, before starting a runner", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const address = blocker.address();
      if (address === null || typeof address === 'string') {
        throw new Error('no port');
      }
      const server = spawnFake({ OLLAMA_HOST: `127.0.0.1:${address.port}` });
      expect(await server.exited).toEqual({ code: 1, signal: null });
      expect(server.stderr()).toContain(`Error: listen tcp 127.0.0.1:${address.port}: bind: address already in use`);
      expect(server.stderr()).not.toContain('starting runner');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('dies of a broken output pipe with FAKE_OLLAMA_DIE_ON_EPIPE=1 and leaves its runner orphaned', async () => {
    const { server, url, runnerPid } = await startFake({
      FAKE_OLLAMA_DIE_ON_EPIPE: '1',
      FAKE_OLLAMA_HEARTBEAT_MS: '100',
    });
    expect(isAlive(runnerPid)).toBe(true);
    server.child.stdout.destroy();
    server.child.stderr.destroy();

    const exit = await server.exited;
    expect(exit).toEqual({ code: null, signal: 'SIGPIPE' });
    expect(await answers(url)).toBe(false);
    // The runner had no parent-death signal: it keeps running, still in the server's group.
    expect(isAlive(runnerPid)).toBe(true);
    expect(procStat(runnerPid)?.pgrp).toBe(server.pid);
  });

  it('keeps serving after its output pipes close when FAKE_OLLAMA_DIE_ON_EPIPE is not set', async () => {
    const { server, url, runnerPid } = await startFake({ FAKE_OLLAMA_HEARTBEAT_MS: '50' });
    server.child.stdout.destroy();
    server.child.stderr.destroy();
    await postJson(`${url}/api/generate`, { model: 'llama3.1', prompt: 'x', stream: false });
    // Twenty heartbeats hit the broken pipe meanwhile.
    expect(await settlesWithin(server.exited, 1_000)).toBe('timeout');
    expect(await answers(url)).toBe(true);
    expect(isAlive(runnerPid)).toBe(true);

    process.kill(server.pid, 'SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(runnerPid)).toBe(false);
  });

  it('ignores SIGTERM with FAKE_OLLAMA_IGNORE_SIGTERM=1, so only a SIGKILL of its group stops it', async () => {
    const { server, url, runnerPid } = await startFake({ FAKE_OLLAMA_IGNORE_SIGTERM: '1' });
    process.kill(server.pid, 'SIGTERM');
    expect(await settlesWithin(server.exited, 1_000)).toBe('timeout');
    expect(await answers(url)).toBe(true);

    process.kill(-server.pid, 'SIGKILL');
    expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await eventually('the runner to die with its group', () => !isAlive(runnerPid), 5_000);
  });

  it('refuses to start without HOME', async () => {
    const server = spawnFake({ HOME: undefined, OLLAMA_HOST: '127.0.0.1:0' });
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(server.stderr()).toBe('Error: $HOME is not defined\n');
  });

  it('prints usage and exits 1 for any other subcommand', async () => {
    const server = spawnFake({}, ['run', 'llama3.1']);
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(server.stderr()).toContain('Usage:');
    expect(server.stderr()).toContain('ollama [command]');
  });

  it('waits FAKE_OLLAMA_STARTUP_DELAY_MS before listening', async () => {
    const port = await freePort();
    const started = Date.now();
    spawnFake({ OLLAMA_HOST: `127.0.0.1:${port}`, FAKE_OLLAMA_STARTUP_DELAY_MS: '1500' });
    const url = `http://127.0.0.1:${port}`;
    expect(await answers(url)).toBe(false);
    await waitForReady(url);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it('takes its models, load time and keep-alive from the environment', async () => {
    const { server, url } = await startFake({
      FAKE_OLLAMA_MODELS: 'qwen2.5:0.5b, llama3.2',
      FAKE_OLLAMA_LOAD_MS: '300',
      OLLAMA_KEEP_ALIVE: '-1',
    });
    const tags = (await (await fetch(`${url}/api/tags`)).json()) as { models: Json[] };
    expect(tags.models.map((m) => m['name'])).toEqual(['qwen2.5:0.5b', 'llama3.2:latest']);
    expect(server.stderr()).toContain('OLLAMA_KEEP_ALIVE:2562047h47m16.854775807s');

    const reply = (await (
      await postJson(`${url}/api/generate`, { model: 'qwen2.5:0.5b', prompt: 'x', stream: false })
    ).json()) as Json;
    expect(reply['load_duration']).toBeGreaterThanOrEqual(300_000_000);
    const ps = (await (await fetch(`${url}/api/ps`)).json()) as { models: Json[] };
    expect(new Date(parseRfc3339(ps.models[0]?.['expires_at'] as string)).getUTCFullYear()).toBeGreaterThan(2300);
  });

  it('starts with no models for an empty FAKE_OLLAMA_MODELS and can pull one', async () => {
    const { url } = await startFake({ FAKE_OLLAMA_MODELS: '' });
    expect(await (await fetch(`${url}/api/tags`)).json()).toEqual({ models: [] });
    const pull = (await (await postJson(`${url}/api/pull`, { model: 'llama3.1', stream: false })).json()) as Json;
    expect(pull).toEqual({ status: 'success' });
    const tags = (await (await fetch(`${url}/api/tags`)).json()) as { models: Json[] };
    expect(tags.models.map((m) => m['name'])).toEqual(['llama3.1:latest']);
  });

  it('can be steered from another process through the /__emulator control endpoints', async () => {
    const { url } = await startFake();
    expect((await postJson(`${url}/__emulator/faults`, { kind: 'busy', times: 1 })).status).toBe(200);
    const busy = await postJson(`${url}/api/chat`, { model: 'llama3.1', messages: [{ role: 'user', content: 'x' }] });
    expect(busy.status).toBe(503);
    expect(await busy.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });

    expect((await postJson(`${url}/__emulator/configure`, { replyText: 'configured', tokenDelayMs: 0 })).status).toBe(
      200,
    );
    const ok = (await (
      await postJson(`${url}/api/chat`, {
        model: 'llama3.1',
        stream: false,
        messages: [{ role: 'user', content: 'x' }],
      })
    ).json()) as Json;
    expect(ok['message']).toEqual({ role: 'assistant', content: 'configured' });

    const stats = (await (await fetch(`${url}/__emulator/stats`)).json()) as Json;
    expect(stats).toMatchObject({ requests: { chat: 2 }, loads: 1, inFlight: 0 });
  });
  it('serves embedding and vision models with their capabilities, and tool calls steered over the control API', async () => {
    const { url } = await startFake({ FAKE_OLLAMA_MODELS: 'llama3.1,nomic-embed-text,llava' });
    const show = (await (await postJson(`${url}/api/show`, { model: 'nomic-embed-text' })).json()) as Json;
    expect(show['capabilities']).toEqual(['embedding']);
    const embed = (await (
      await postJson(`${url}/api/embed`, { model: 'nomic-embed-text', input: ['a', 'b'] })
    ).json()) as {
      embeddings: number[][];
    };
    expect(embed.embeddings.map((v) => v.length)).toEqual([768, 768]);
    const refused = await postJson(`${url}/api/chat`, { model: 'nomic-embed-text', messages: [] });
    expect(await refused.json()).toEqual({ error: '"nomic-embed-text" does not support chat' });

    const added = await postJson(`${url}/__emulator/models`, { name: 'tool-less:1b', capabilities: ['completion'] });
    expect(added.status).toBe(200);
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const noTools = await postJson(`${url}/api/chat`, { model: 'tool-less:1b', messages: [], tools });
    expect(await noTools.json()).toEqual({ error: 'registry.ollama.ai/library/tool-less:1b does not support tools' });

    await postJson(`${url}/__emulator/configure`, {
      toolCalls: { calls: [{ name: 'lookup', arguments: { q: 'x' } }] },
    });
    const call = (await (
      await postJson(`${url}/api/chat`, {
        model: 'llama3.1',
        stream: false,
        tools,
        messages: [{ role: 'user', content: 'look it up' }],
      })
    ).json()) as { message: { tool_calls: Json[] } };
    expect(call.message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_/), function: { index: 0, name: 'lookup', arguments: { q: 'x' } } },
    ]);
    const requests = (await (await fetch(`${url}/__emulator/requests?endpoint=embed`)).json()) as { requests: Json[] };
    expect(requests.requests).toEqual([expect.objectContaining({ model: 'nomic-embed-text', status: 200 })]);
  });
});

describe('OLLAMA_HOST rules', () => {
  it.each([
    [undefined, '127.0.0.1', 11434],
    ['', '127.0.0.1', 11434],
    ['1.2.3.4', '1.2.3.4', 11434],
    ['localhost', 'localhost', 11434],
    ['127.0.0.1:8080', '127.0.0.1', 8080],
    [':1234', '', 1234],
    [':0', '', 0],
    ['::1', '::1', 11434],
    ['[::1]:5000', '::1', 5000],
    ['http://example.com', 'example.com', 80],
    ['https://example.com', 'example.com', 443],
    ['http://127.0.0.1:9000/some/path', '127.0.0.1', 9000],
    ['"0.0.0.0:7000"', '0.0.0.0', 7000],
    ['  127.0.0.1:7001  ', '127.0.0.1', 7001],
  ])('reads %j as host %j port %d', (raw, host, port) => {
    const parsed = parseOllamaHost(raw);
    expect({ host: parsed.host, port: parsed.port, warning: parsed.warning }).toEqual({
      host,
      port,
      warning: undefined,
    });
  });

  it('falls back to the default port with a warning for an invalid port', () => {
    expect(parseOllamaHost('127.0.0.1:99999')).toEqual({
      scheme: 'http',
      host: '127.0.0.1',
      port: 11434,
      hostport: '127.0.0.1:11434',
      warning: { port: '99999', default: '11434' },
    });
    expect(parseOllamaHost('http://localhost:-1').port).toBe(80);
  });

  it('formats the address for Go error messages', () => {
    expect(parseOllamaHost('::1').hostport).toBe('[::1]:11434');
    expect(parseOllamaHost(':0').hostport).toBe(':0');
  });
});

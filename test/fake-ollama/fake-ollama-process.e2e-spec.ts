import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

import { LineReader, settlesWithin, type Json } from '../emulator/test-helpers';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';
import {
  answers,
  cleanUpFakeServers,
  freePort,
  isAlive,
  procStat,
  spawnFake,
  startFake,
  waitForOutput,
  waitForReady,
} from './support/fake-server';

jest.setTimeout(60_000);

cleanUpFakeServers();

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
});

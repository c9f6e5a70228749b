import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isServeCommand } from '../../src/ollama-process/ollama-command-line';
import { OllamaHealthIndicator } from '../../src/ollama-process/ollama.health';
import { OllamaFleet } from '../../src/ollama-process/ollama-fleet';
import { ProcessRunner } from '../../src/ollama-process/process-runner';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { RunningApp, startApp } from '../support/app';
import { ensureBuilt, eventually, freePort, LogRecord, ServiceProcess, startService } from '../support/service-process';

const FAKE_OLLAMA = join(__dirname, '..', 'fake-ollama', 'ollama');
const processes = new ProcessRunner();

/** Every process whose environment points Ollama at `port` (servers and their runners), for assertions only. */
function ollamaProcessesOn(port: number): number[] {
  const host = `OLLAMA_HOST=127.0.0.1:${port}`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => processes.isRunning(pid) && environ(pid).includes(host));
}

function environ(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function readPid(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/api/version`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

/** `GET /health/ollama`: its status and the `ollama` entry of the Terminus body. */
async function ollamaHealth(serviceUrl: string): Promise<{ status: number; ollama: Record<string, unknown> }> {
  const response = await fetch(`${serviceUrl}/health/ollama`);
  const body = (await response.json()) as { details: { ollama: Record<string, unknown> } };
  return { status: response.status, ollama: body.details.ollama };
}

/** Matches the supervisor's `Ollama <version> is up at <url> (<ownership>[, pid <pid>])` line. */
function isUpLine(url: string, ownership: string, pid?: number): (record: LogRecord) => boolean {
  const who = pid === undefined ? `(${ownership}` : `(${ownership}, pid ${pid})`;
  return (record) =>
    typeof record.msg === 'string' &&
    record.msg.startsWith('Ollama ') &&
    record.msg.includes(` is up at ${url} ${who}`);
}

describe('OllamaProcessModule', () => {
  const services: ServiceProcess[] = [];
  const apps: RunningApp[] = [];
  const servers: Array<Server | OllamaEmulator> = [];
  const groups = new Set<number>();
  const pidFiles: string[] = [];

  /** A pid file of its own for each test; whatever group it names is killed after the test. */
  function tempPidFile(): string {
    const path = join(mkdtempSync(join(tmpdir(), 'ollama-process-e2e-')), 'ollama.pid');
    pidFiles.push(path);
    return path;
  }

  /** Remembers a process group to kill if the test fails before the service cleaned it up. */
  function track(pgid: number): number {
    groups.add(pgid);
    return pgid;
  }

  async function runnersOf(pgid: number): Promise<number[]> {
    return eventually(() => {
      const runners = processes.groupMembers(pgid).filter((pid) => pid !== pgid);
      return runners.length > 0 ? runners : undefined;
    }, `the runner of Ollama ${pgid}`);
  }

  beforeAll(() => {
    ensureBuilt();
  }, 300_000);

  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.crash()));
    await Promise.all(apps.splice(0).map((running) => running.close()));
    for (const path of pidFiles) {
      const pid = readPid(path);
      if (pid !== undefined && processes.groupMembers(pid).length > 0) {
        groups.add(pid);
      }
      rmSync(dirname(path), { recursive: true, force: true });
    }
    pidFiles.length = 0;
    for (const pgid of groups) {
      processes.signalGroup(pgid, 'SIGKILL');
    }
    groups.clear();
    await Promise.all(
      servers
        .splice(0)
        .map((server) =>
          server instanceof OllamaEmulator ? server.stop() : new Promise((resolve) => server.close(resolve)),
        ),
    );
  });

  it('uses an Ollama that already answers (external) and leaves it running after our SIGTERM', async () => {
    const emulator = new OllamaEmulator();
    servers.push(emulator);
    await emulator.start();
    const pidFile = tempPidFile();

    const service = await startService({ OLLAMA_URL: emulator.url, OLLAMA_BIN: FAKE_OLLAMA, OLLAMA_PID_FILE: pidFile });
    services.push(service);
    await service.waitForLog(isUpLine(emulator.url, 'external'));
    expect(await ollamaHealth(service.url)).toEqual({
      status: 200,
      ollama: expect.objectContaining({ status: 'up', url: emulator.url, ownership: 'external' }),
    });
    expect((await ollamaHealth(service.url)).ollama).not.toHaveProperty('pid');

    expect(await service.stop()).toEqual({ code: 0, signal: null });
    expect(await answers(emulator.url)).toBe(true);
    expect(existsSync(pidFile)).toBe(false);
    expect(service.logs.some((record) => record.msg?.startsWith(`started '`))).toBe(false);
  }, 90_000);

  it('starts `ollama serve` with OLLAMA_HOST, logs its output, and after SIGTERM leaves no Ollama, runner or pid file', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const pidFile = tempPidFile();

    const service = await startService({ OLLAMA_URL: url, OLLAMA_BIN: FAKE_OLLAMA, OLLAMA_PID_FILE: pidFile });
    services.push(service);
    const pid = track(await eventually(() => readPid(pidFile), 'the pid file'));
    await service.waitForLog(isUpLine(url, 'owned', pid));

    expect(await answers(url)).toBe(true);
    expect(processes.stat(pid)?.pgid).toBe(pid);
    expect(isServeCommand(processes.cmdline(pid), FAKE_OLLAMA)).toBe(true);
    expect(environ(pid)).toContain(`OLLAMA_HOST=127.0.0.1:${port}`);
    expect(environ(pid)).toContain('OLLAMA_KEEP_ALIVE=20m');
    const [runner] = await runnersOf(pid);
    const listening = await service.waitForLog((record) => record.msg?.startsWith('[ollama] ') === true);
    expect(listening.context).toBe('Ollama');

    expect(await service.stop()).toEqual({ code: 0, signal: null });
    expect(processes.isRunning(pid)).toBe(false);
    expect(processes.isRunning(runner)).toBe(false);
    expect(ollamaProcessesOn(port)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
  }, 90_000);

  it('sends SIGKILL to the group of an owned Ollama that ignores SIGTERM, after OLLAMA_STOP_TIMEOUT', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const pidFile = tempPidFile();
    const service = await startService({
      OLLAMA_URL: url,
      OLLAMA_BIN: FAKE_OLLAMA,
      OLLAMA_PID_FILE: pidFile,
      OLLAMA_STOP_TIMEOUT: '1',
      FAKE_OLLAMA_IGNORE_SIGTERM: '1',
    });
    services.push(service);
    const pid = track(await eventually(() => readPid(pidFile), 'the pid file'));
    await service.waitForLog(isUpLine(url, 'owned', pid));
    await runnersOf(pid);

    expect(await service.stop()).toEqual({ code: 0, signal: null });
    expect(service.logs.map((record) => record.msg)).toContain(
      `Ollama (pid ${pid}) did not stop within 1 s of SIGTERM; sending SIGKILL`,
    );
    expect(ollamaProcessesOn(port)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
  }, 90_000);

  it('restarts an owned Ollama killed with SIGKILL: new pid, up again, restart counted, its old runner gone', async () => {
    const port = await freePort();
    const pidFile = tempPidFile();
    const running = await startApp({
      OLLAMA_URL: `http://127.0.0.1:${port}`,
      OLLAMA_BIN: FAKE_OLLAMA,
      OLLAMA_PID_FILE: pidFile,
    });
    apps.push(running);
    const supervisor = running.app.get(OllamaFleet).supervisors[0];
    await eventually(() => supervisor.status().reachable, 'the first Ollama to answer');
    const first = track(supervisor.status().pid as number);
    const [firstRunner] = await runnersOf(first);

    process.kill(first, 'SIGKILL');
    await eventually(() => supervisor.status().reachable && supervisor.status().pid !== first, 'a new Ollama');

    const second = track(supervisor.status().pid as number);
    expect(supervisor.status()).toMatchObject({ state: 'running', ownership: 'owned', restarts: 1 });
    expect(readPid(pidFile)).toBe(second);
    expect(processes.isRunning(firstRunner)).toBe(false);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    const backend = `backend="${supervisor.baseUrl}"`;
    expect(metrics).toContain(`ollama_process_restarts_total{${backend}} 1\n`);
    expect(metrics).toContain(`ollama_up{${backend}} 1\n`);
    expect(await ollamaHealth(running.url)).toEqual({
      status: 200,
      ollama: expect.objectContaining({ status: 'up', reachable: true, ownership: 'owned', pid: second, restarts: 1 }),
    });

    await running.close();
    expect(ollamaProcessesOn(port)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
  }, 90_000);

  it('reports a kill -9 of the owned Ollama by its signal alone, without the routine lines Ollama printed', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const pidFile = tempPidFile();
    const service = await startService({ OLLAMA_URL: url, OLLAMA_BIN: FAKE_OLLAMA, OLLAMA_PID_FILE: pidFile });
    services.push(service);
    const pid = track(await eventually(() => readPid(pidFile), 'the pid file'));
    await service.waitForLog(isUpLine(url, 'owned', pid));
    // Its routine start-up lines reached the log, so the crash message had them to pick from.
    await service.waitForLog((record) => /^\[ollama\] .*level=INFO .*msg="Listening on /.test(record.msg ?? ''));

    process.kill(pid, 'SIGKILL');
    const crash = await service.waitForLog(
      (record) => record.msg?.startsWith(`ollama serve (pid ${pid}) exited unexpectedly`) === true,
    );

    expect(crash.msg).toBe(`ollama serve (pid ${pid}) exited unexpectedly with signal SIGKILL; retrying in 1 s`);
    const second = await service.waitForLog(
      (record) => isUpLine(url, 'owned')(record) && !record.msg?.includes(`pid ${pid})`),
    );
    track(Number(/pid (\d+)\)/.exec(second.msg ?? '')?.[1]));
    expect(await service.stop()).toEqual({ code: 0, signal: null });
    expect(ollamaProcessesOn(port)).toEqual([]);
  }, 90_000);

  it('reports an owned Ollama that cannot start with the line Ollama gave as the reason', async () => {
    const port = await freePort();
    const service = await startService({
      OLLAMA_URL: `http://127.0.0.1:${port}`,
      OLLAMA_BIN: FAKE_OLLAMA,
      OLLAMA_PID_FILE: tempPidFile(),
      // Ollama refuses to start without a home directory (exit code 1).
      HOME: '',
    });
    services.push(service);

    const failure = await service.waitForLog((record) => record.msg?.startsWith('ollama serve exited') === true);

    expect(failure.msg).toBe('ollama serve exited with code 1: Error: $HOME is not defined; retrying in 1 s');
    expect(await service.stop()).toEqual({ code: 0, signal: null });
    expect(ollamaProcessesOn(port)).toEqual([]);
  }, 90_000);

  it('keeps serving when the Ollama binary is missing, and says so in operator words', async () => {
    const running = await startApp({
      OLLAMA_URL: `http://127.0.0.1:${await freePort()}`,
      OLLAMA_BIN: 'ollama-not-installed-here',
      OLLAMA_PID_FILE: tempPidFile(),
    });
    apps.push(running);
    const supervisor = running.app.get(OllamaFleet).supervisors[0];
    const message = "ollama binary 'ollama-not-installed-here' not found on PATH; install Ollama or set OLLAMA_BIN";

    await eventually(() => supervisor.status().lastError === message, 'the missing-binary error');

    expect((await fetch(`${running.url}/health/live`)).status).toBe(200);
    expect(supervisor.status()).toMatchObject({ state: 'failed', reachable: false });
    expect(running.app.get(OllamaHealthIndicator).check()).toEqual({
      ollama: expect.objectContaining({ status: 'down', message }),
    });
    expect(await ollamaHealth(running.url)).toEqual({
      status: 503,
      ollama: expect.objectContaining({ status: 'down', reachable: false, message }),
    });
  });

  it('keeps serving when a plain HTTP server holds the port, never starts Ollama there, and says so', async () => {
    const squatter = createServer((_req, res) => {
      res.statusCode = 404;
      res.end('nothing here');
    });
    servers.push(squatter);
    const port = await freePort();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    const running = await startApp({
      OLLAMA_URL: `http://127.0.0.1:${port}`,
      OLLAMA_BIN: FAKE_OLLAMA,
      OLLAMA_PID_FILE: tempPidFile(),
    });
    apps.push(running);
    const supervisor = running.app.get(OllamaFleet).supervisors[0];
    const message = `port ${port} is held by a process that is not Ollama; stop it or set OLLAMA_URL to another port`;

    await eventually(() => supervisor.status().lastError === message, 'the port-held error');

    expect((await fetch(`${running.url}/health/live`)).status).toBe(200);
    expect(await ollamaHealth(running.url)).toEqual({
      status: 503,
      ollama: expect.objectContaining({ status: 'down', message }),
    });
    expect(supervisor.status().pid).toBeUndefined();
    expect(ollamaProcessesOn(port)).toEqual([]);
  });

  describe('after our service was killed with SIGKILL', () => {
    it('adopts the Ollama that survived instead of starting a second one, and stops it at the next SIGTERM', async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const env = { OLLAMA_URL: url, OLLAMA_BIN: FAKE_OLLAMA, OLLAMA_PID_FILE: tempPidFile() };
      const crashed = await startService(env);
      services.push(crashed);
      const pid = track(await eventually(() => readPid(env.OLLAMA_PID_FILE), 'the pid file'));
      await crashed.waitForLog(isUpLine(url, 'owned', pid));
      const [runner] = await runnersOf(pid);

      await crashed.crash();
      expect(processes.isRunning(pid)).toBe(true);

      const next = await startService(env);
      services.push(next);
      await next.waitForLog(isUpLine(url, 'adopted', pid));
      expect(await ollamaHealth(next.url)).toEqual({
        status: 200,
        ollama: expect.objectContaining({ status: 'up', ownership: 'adopted', pid, restarts: 0 }),
      });
      expect(next.logs.some((record) => record.msg?.startsWith(`started '`))).toBe(false);
      expect(ollamaProcessesOn(port).sort()).toEqual([pid, runner].sort());
      expect(readPid(env.OLLAMA_PID_FILE)).toBe(pid);

      expect(await next.stop()).toEqual({ code: 0, signal: null });
      expect(ollamaProcessesOn(port)).toEqual([]);
      expect(existsSync(env.OLLAMA_PID_FILE)).toBe(false);
    }, 120_000);

    it('stops the runner left behind by an Ollama that died of the broken pipe, starts a new one, and leaves nothing at SIGTERM', async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const env = {
        OLLAMA_URL: url,
        OLLAMA_BIN: FAKE_OLLAMA,
        OLLAMA_PID_FILE: tempPidFile(),
        FAKE_OLLAMA_DIE_ON_EPIPE: '1',
        FAKE_OLLAMA_HEARTBEAT_MS: '100',
      };
      const crashed = await startService(env);
      services.push(crashed);
      const pid = track(await eventually(() => readPid(env.OLLAMA_PID_FILE), 'the pid file'));
      await crashed.waitForLog(isUpLine(url, 'owned', pid));
      const [runner] = await runnersOf(pid);

      await crashed.crash();
      await eventually(() => !processes.isRunning(pid), 'Ollama to die of the broken pipe');
      expect(processes.isRunning(runner)).toBe(true);

      const next = await startService(env);
      services.push(next);
      await next.waitForLog(
        (record) =>
          record.msg?.startsWith(
            `stopping processes ${runner} left in the process group of the Ollama (pid ${pid})`,
          ) === true,
      );
      await next.waitForLog(isUpLine(url, 'owned'));
      expect(processes.isRunning(runner)).toBe(false);
      const replacement = track(readPid(env.OLLAMA_PID_FILE) as number);
      expect(replacement).not.toBe(pid);

      expect(await next.stop()).toEqual({ code: 0, signal: null });
      expect(ollamaProcessesOn(port)).toEqual([]);
      expect(existsSync(env.OLLAMA_PID_FILE)).toBe(false);
    }, 120_000);
  });
});

import { Logger } from '@nestjs/common';
import type { OllamaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { FakeMachine, FakePidFile, NOTHING, OLLAMA } from '../../test/ollama-process/fake-machine';
import type { OllamaProbe } from './ollama-probe';
import {
  FAILED_POLLS_BEFORE_DOWN,
  FAILED_POLLS_BEFORE_RESTART,
  MONITOR_INTERVAL_MS,
  OllamaSupervisor,
} from './ollama-supervisor';
import { parseEnvironment } from '../config/environment';

const URL_ = 'http://127.0.0.1:11434';
const PORT_HELD = 'port 11434 is held by a process that is not Ollama; stop it or set OLLAMA_URL to another port';

/** The contract's defaults, as the application parses them, with a pid file of the test's own. */
function settings(overrides: Partial<OllamaConfig> = {}): OllamaConfig {
  return {
    ...parseEnvironment({ OLLAMA_URL: URL_ }).ollama,
    pidFile: '/run/test/ollama-manager-11434.pid',
    ...overrides,
  };
}

describe(OllamaSupervisor.name, () => {
  let machine: FakeMachine;
  let pidFile: FakePidFile;
  let metrics: MetricsService;
  let supervisor: OllamaSupervisor;
  let loggedErrors: jest.SpyInstance;

  function build(overrides: Partial<OllamaConfig> = {}): OllamaSupervisor {
    const config = settings(overrides);
    pidFile = new FakePidFile(config.pidFile);
    supervisor = new OllamaSupervisor(
      config,
      machine.runner,
      machine.probe as unknown as OllamaProbe,
      pidFile,
      metrics,
    );
    return supervisor;
  }

  async function started(overrides: Partial<OllamaConfig> = {}): Promise<OllamaSupervisor> {
    build(overrides).start();
    await jest.advanceTimersByTimeAsync(0);
    return supervisor;
  }

  async function gaugeValue(): Promise<number> {
    return (await metrics.ollamaUp.get()).values[0].value;
  }

  async function restartsCounted(): Promise<number> {
    return (await metrics.ollamaProcessRestarts.get()).values[0]?.value ?? 0;
  }

  /** Advances fake time until `condition` holds, failing after `limitMs`. */
  async function until(condition: () => boolean, limitMs = 120_000): Promise<number> {
    let waited = 0;
    while (!condition()) {
      if (waited >= limitMs) {
        throw new Error(`condition not met within ${limitMs} ms of fake time`);
      }
      await jest.advanceTimersByTimeAsync(100);
      waited += 100;
    }
    return waited;
  }

  beforeEach(() => {
    jest.useFakeTimers();
    machine = new FakeMachine();
    metrics = new MetricsService();
    for (const level of ['log', 'warn', 'debug'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    }
    loggedErrors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    const stopping = supervisor?.stop();
    await jest.runAllTimersAsync();
    await stopping;
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  describe('an Ollama that already answers', () => {
    it('is used as external and never signalled, not even at stop', async () => {
      machine.portAnswer = OLLAMA;
      await started();

      expect(supervisor.status()).toEqual({
        state: 'running',
        reachable: true,
        version: '0.33.0',
        ownership: 'external',
        restarts: 0,
        url: URL_,
      });
      expect(await gaugeValue()).toBe(1);

      await supervisor.stop();
      expect(machine.spawns).toEqual([]);
      expect(machine.signals).toEqual([]);
      expect(supervisor.status().state).toBe('stopped');
    });

    it('is adopted when the pid file names the orphaned `ollama serve` an earlier run started, and stopped at shutdown', async () => {
      const earlier = machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
      machine.portAnswer = OLLAMA;
      build();
      pidFile.pid = earlier.pid;
      supervisor.start();
      await jest.advanceTimersByTimeAsync(0);

      expect(supervisor.status()).toMatchObject({ state: 'running', ownership: 'adopted', pid: earlier.pid });
      expect(machine.guards.has(earlier.pid)).toBe(true);

      await supervisor.stop();
      expect(machine.signals[0]).toEqual([earlier.pid, 'SIGTERM']);
      expect(machine.running(earlier.pid)).toBe(false);
      expect(pidFile.pid).toBeUndefined();
      expect(machine.guards.size).toBe(0);
    });

    it('is external when the recorded pid now belongs to another program, whose pid is never signalled', async () => {
      const reused = machine.add({ argv: ['/usr/bin/postgres', '-D', '/data'], ppid: 1 });
      machine.portAnswer = OLLAMA;
      build();
      pidFile.pid = reused.pid;
      supervisor.start();
      await jest.advanceTimersByTimeAsync(0);

      expect(supervisor.status()).toMatchObject({ ownership: 'external' });
      expect(pidFile.pid).toBeUndefined();
      await supervisor.stop();
      expect(machine.signals).toEqual([]);
      expect(machine.running(reused.pid)).toBe(true);
    });

    it('is external when the recorded server is still the child of another running instance of this service', async () => {
      const otherInstance = machine.add({ argv: ['node', 'dist/main.js'], ppid: 1, exe: process.execPath });
      const theirs = machine.add({ argv: ['ollama', 'serve'], ppid: otherInstance.pid });
      machine.portAnswer = OLLAMA;
      build();
      pidFile.pid = theirs.pid;
      supervisor.start();
      await jest.advanceTimersByTimeAsync(0);

      expect(supervisor.status()).toMatchObject({ ownership: 'external' });
      expect(pidFile.pid).toBe(theirs.pid);
      await supervisor.stop();
      expect(machine.signals).toEqual([]);
    });

    it('goes down after failed polls, tells listeners, and is used again when it comes back', async () => {
      machine.portAnswer = OLLAMA;
      await started();
      const changes: boolean[] = [];
      supervisor.onChange((up) => changes.push(up));

      machine.portAnswer = NOTHING;
      await jest.advanceTimersByTimeAsync(MONITOR_INTERVAL_MS * FAILED_POLLS_BEFORE_DOWN);
      expect(supervisor.status()).toMatchObject({ state: 'failed', reachable: false });
      expect(supervisor.status().lastError).toContain('Ollama at http://127.0.0.1:11434 stopped answering');
      expect(supervisor.status().version).toBeUndefined();
      expect(supervisor.status().ownership).toBeUndefined();
      expect(await gaugeValue()).toBe(0);

      machine.portAnswer = OLLAMA;
      await until(() => supervisor.isUp());
      expect(changes).toEqual([false, true]);
      expect(supervisor.status()).toMatchObject({ state: 'running', ownership: 'external' });
      expect(supervisor.status().lastError).toBeUndefined();
    });
  });

  describe('when nothing answers at a local URL', () => {
    it('starts `$OLLAMA_BIN serve` with OLLAMA_HOST and OLLAMA_KEEP_ALIVE, records its pid and owns it', async () => {
      await started({ url: 'http://localhost:40123', keepAlive: { apiValue: 300, ms: 300_000 } });

      expect(machine.spawns).toHaveLength(1);
      const [{ command, args, env }] = machine.spawns;
      expect([command, ...args]).toEqual(['ollama', 'serve']);
      expect(env).toMatchObject({ OLLAMA_HOST: 'localhost:40123', OLLAMA_KEEP_ALIVE: '300', HOME: process.env.HOME });
      const { pid } = supervisor.status();
      expect(supervisor.status()).toMatchObject({ state: 'running', ownership: 'owned', reachable: true });
      expect(pidFile.pid).toBe(pid);
      expect(machine.guards.has(pid as number)).toBe(true);
    });

    it('stops the owned process group with SIGTERM, removes the pid file and the exit guard', async () => {
      await started();
      const { pid } = supervisor.status();

      await supervisor.stop();

      expect(machine.signals).toEqual([[pid, 'SIGTERM']]);
      expect(machine.runner.groupMembers(pid as number)).toEqual([]);
      expect(pidFile.pid).toBeUndefined();
      expect(machine.guards.size).toBe(0);
      expect(supervisor.status()).toMatchObject({ state: 'stopped', reachable: false });
      expect(await gaugeValue()).toBe(0);
    });

    it('stops only once when stop() is called twice at the same time, or again later', async () => {
      await started();
      const { pid } = supervisor.status();

      const first = supervisor.stop();
      const second = supervisor.stop();
      expect(second).toBe(first);
      await first;
      await supervisor.stop();

      expect(machine.signals).toEqual([[pid, 'SIGTERM']]);
    });

    it('stops a server that is still starting when stop() comes', async () => {
      machine.script = { answers: false };
      await started();
      const { pid } = supervisor.status();
      expect(supervisor.status().state).toBe('starting');

      await supervisor.stop();

      expect(machine.signals[0]).toEqual([pid, 'SIGTERM']);
      expect(machine.running(pid as number)).toBe(false);
      expect(pidFile.pid).toBeUndefined();
    });

    it('reports a missing binary in operator words and retries after 1, 2, 4, 8, 16, 30, 30 s', async () => {
      machine.spawnError = 'ENOENT';
      await started();

      expect(supervisor.status()).toMatchObject({
        state: 'failed',
        reachable: false,
        lastError: "ollama binary 'ollama' not found on PATH; install Ollama or set OLLAMA_BIN",
      });
      expect(loggedErrors).toHaveBeenCalledWith(
        "ollama binary 'ollama' not found on PATH; install Ollama or set OLLAMA_BIN; retrying in 1 s",
      );
      const gaps: number[] = [];
      for (let attempt = 0; attempt < 7; attempt++) {
        const before = machine.spawns.length;
        gaps.push(await until(() => machine.spawns.length > before));
      }
      expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    });

    it('names the path when OLLAMA_BIN is a path that does not exist', async () => {
      machine.spawnError = 'ENOENT';
      await started({ bin: '/opt/ollama/bin/ollama' });

      expect(supervisor.status().lastError).toBe(
        "ollama binary '/opt/ollama/bin/ollama' not found; install Ollama or set OLLAMA_BIN",
      );
    });

    it('reports a server that exits at once with its exit code and last stderr lines', async () => {
      machine.script = {
        answers: false,
        exitsWith: 1,
        stderr: ['Error: listen tcp 127.0.0.1:11434: bind: address already in use'],
      };
      await started();

      expect(supervisor.status()).toMatchObject({
        state: 'failed',
        lastError: 'ollama serve exited with code 1: Error: listen tcp 127.0.0.1:11434: bind: address already in use',
      });
      expect(pidFile.pid).toBeUndefined();
      expect(machine.guards.size).toBe(0);
    });

    it('gives up on a start after OLLAMA_STARTUP_TIMEOUT and stops that process group', async () => {
      machine.script = { answers: false };
      await started({ startupTimeoutMs: 5_000 });
      const { pid } = supervisor.status();

      await jest.advanceTimersByTimeAsync(5_300);

      expect(supervisor.status()).toMatchObject({
        state: 'failed',
        lastError: 'ollama serve did not answer within 5 s',
      });
      expect(machine.signals[0]).toEqual([pid, 'SIGTERM']);
      expect(machine.running(pid as number)).toBe(false);
      expect(pidFile.pid).toBeUndefined();
    });

    it('reports a port held by something that is not Ollama, never starts one there, and retries', async () => {
      machine.portAnswer = { kind: 'foreign', detail: 'GET / answered 404 "Not Found"' };
      await started();

      expect(supervisor.status()).toMatchObject({ state: 'failed', lastError: PORT_HELD });
      await jest.advanceTimersByTimeAsync(1_000);
      machine.portAnswer = OLLAMA;
      await jest.advanceTimersByTimeAsync(2_000);

      expect(supervisor.status()).toMatchObject({ state: 'running', ownership: 'external' });
      expect(machine.spawns).toEqual([]);
    });

    it('stops what an earlier run left in its recorded group, after checking they are runners', async () => {
      const deadServer = 3_000;
      const orphan = machine.add({
        pgid: deadServer,
        ppid: 1,
        argv: ['/usr/lib/ollama/llama-server', '--model', 'b', '--port', '5'],
      });
      build();
      pidFile.pid = deadServer;
      supervisor.start();
      await jest.advanceTimersByTimeAsync(0);

      expect(machine.signals[0]).toEqual([deadServer, 'SIGTERM']);
      expect(machine.running(orphan.pid)).toBe(false);
      expect(supervisor.status()).toMatchObject({ state: 'running', ownership: 'owned' });
      expect(pidFile.pid).toBe(supervisor.status().pid);
    });

    it('leaves alone a recorded group that holds processes that do not look like Ollama', async () => {
      const deadServer = 3_000;
      const stranger = machine.add({ pgid: deadServer, ppid: 1, argv: ['bash', '-c', 'sleep 100'] });
      build();
      pidFile.pid = deadServer;
      supervisor.start();
      await jest.advanceTimersByTimeAsync(0);

      expect(machine.signals.filter(([pgid]) => pgid === deadServer)).toEqual([]);
      expect(machine.running(stranger.pid)).toBe(true);
      expect(supervisor.status().ownership).toBe('owned');
    });

    it('stops the earlier run’s server when it is alive but does not serve, then starts a new one', async () => {
      const hung = machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
      machine.portAnswer = { kind: 'silent', detail: 'accepted the connection but did not answer within 2 s' };
      machine.processes.get(hung.pid)!.exit = () => {
        hung.running = false;
        machine.portAnswer = NOTHING;
      };
      build();
      pidFile.pid = hung.pid;
      supervisor.start();
      await jest.advanceTimersByTimeAsync(0);

      expect(machine.signals[0]).toEqual([hung.pid, 'SIGTERM']);
      expect(machine.running(hung.pid)).toBe(false);
      await until(() => supervisor.status().ownership === 'owned');
    });
  });

  describe('when nothing answers and this service may not start Ollama', () => {
    it.each([
      ['the URL is another host', { url: 'http://ollama.internal.example:11434' }],
      ['OLLAMA_AUTO_START is off', { url: URL_, autoStart: false }],
    ])('reports it is not reachable when %s, and never spawns', async (_, overrides) => {
      await started(overrides);

      expect(supervisor.status()).toMatchObject({
        state: 'failed',
        lastError: `Ollama is not reachable at ${overrides.url}; start it or set OLLAMA_URL`,
      });
      await jest.advanceTimersByTimeAsync(10_000);
      expect(machine.spawns).toEqual([]);
    });
  });

  describe('an owned server that exits', () => {
    it('is restarted after 1 s with a new pid, counted, and listeners hear down then up', async () => {
      await started();
      const first = supervisor.status().pid as number;
      const changes: boolean[] = [];
      supervisor.onChange((up) => changes.push(up));

      machine.kill(first, 'SIGKILL');
      await jest.advanceTimersByTimeAsync(0);
      expect(supervisor.status()).toMatchObject({ state: 'restarting', reachable: false, restarts: 0 });
      expect(supervisor.status()).not.toHaveProperty('version', expect.anything());
      expect(supervisor.status()).not.toHaveProperty('pid', expect.anything());
      expect(supervisor.status().lastError).toContain(
        `ollama serve (pid ${first}) exited unexpectedly with signal SIGKILL`,
      );
      // Its runner lost its server: it is cleared away with the group.
      expect(machine.runner.groupMembers(first)).toEqual([]);

      await jest.advanceTimersByTimeAsync(999);
      expect(machine.spawns).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);

      const second = supervisor.status().pid;
      expect(second).not.toBe(first);
      expect(supervisor.status()).toMatchObject({ state: 'running', ownership: 'owned', reachable: true, restarts: 1 });
      expect(await restartsCounted()).toBe(1);
      expect(pidFile.pid).toBe(second);
      expect(changes).toEqual([false, true]);
    });

    it('backs off 1, 2, 4 s while it keeps crashing, and from 1 s again after it stayed up for a minute', async () => {
      await started();
      const crashAndTimeRestart = async (): Promise<number> => {
        const before = machine.spawns.length;
        machine.kill(supervisor.status().pid as number, 'SIGKILL');
        return until(() => machine.spawns.length > before);
      };

      expect(await crashAndTimeRestart()).toBe(1_000);
      expect(await crashAndTimeRestart()).toBe(2_000);
      expect(await crashAndTimeRestart()).toBe(4_000);
      await jest.advanceTimersByTimeAsync(61_000);
      expect(await crashAndTimeRestart()).toBe(1_000);
      expect(supervisor.status().restarts).toBe(4);
    });

    it('an adopted server that exits is replaced by an owned one', async () => {
      const earlier = machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
      machine.portAnswer = OLLAMA;
      build();
      pidFile.pid = earlier.pid;
      supervisor.start();
      await jest.advanceTimersByTimeAsync(0);
      expect(supervisor.status().ownership).toBe('adopted');

      earlier.running = false;
      machine.portAnswer = NOTHING;
      await until(() => supervisor.status().ownership === 'owned');

      expect(supervisor.status()).toMatchObject({ state: 'running', restarts: 1 });
      expect(supervisor.status().pid).not.toBe(earlier.pid);
    });

    it('a server that stays alive but stops answering is restarted', async () => {
      await started();
      const first = supervisor.status().pid as number;
      const serving = machine.probe.version;
      machine.probe.version = () => Promise.resolve({ ok: false, detail: 'did not answer within 2 s' });

      await jest.advanceTimersByTimeAsync(MONITOR_INTERVAL_MS * FAILED_POLLS_BEFORE_DOWN);
      expect(supervisor.status()).toMatchObject({ state: 'running', reachable: false, pid: first });

      await jest.advanceTimersByTimeAsync(
        MONITOR_INTERVAL_MS * (FAILED_POLLS_BEFORE_RESTART - FAILED_POLLS_BEFORE_DOWN),
      );
      expect(machine.signals[0]).toEqual([first, 'SIGTERM']);
      machine.probe.version = serving;
      await until(() => supervisor.isUp());
      expect(supervisor.status().pid).not.toBe(first);
      expect(supervisor.status().restarts).toBe(1);
    });
  });

  describe('whenUp', () => {
    it('resolves once the server answers, and at once when it already does', async () => {
      machine.script = { answers: false };
      build();
      const up = jest.fn();
      void supervisor.whenUp().then(up);
      supervisor.start();
      await jest.advanceTimersByTimeAsync(1_000);
      expect(up).not.toHaveBeenCalled();

      machine.portAnswer = OLLAMA;
      await jest.advanceTimersByTimeAsync(300);
      expect(up).toHaveBeenCalled();
      await expect(supervisor.whenUp()).resolves.toBeUndefined();
    });

    it('rejects when its signal aborts', async () => {
      machine.spawnError = 'ENOENT';
      await started();
      const controller = new AbortController();
      const waiting = supervisor.whenUp(controller.signal);
      controller.abort(new Error('deadline'));
      await expect(waiting).rejects.toThrow('deadline');
    });
  });
});

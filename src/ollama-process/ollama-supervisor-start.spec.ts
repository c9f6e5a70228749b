import { NOTHING, OLLAMA } from '../../test/ollama-process/fake-machine';
import { URL_, until, useSupervisorHarness } from '../../test/ollama-process/supervisor-fixtures';
import { OllamaSupervisor } from './ollama-supervisor';

const PORT_HELD = 'port 11434 is held by a process that is not Ollama; stop it or set OLLAMA_URL to another port';

describe(OllamaSupervisor.name, () => {
  const h = useSupervisorHarness();

  describe('when nothing answers at a local URL', () => {
    it('starts `$OLLAMA_BIN serve` with OLLAMA_HOST and OLLAMA_KEEP_ALIVE, records its pid and owns it', async () => {
      await h.started({ url: 'http://localhost:40123', keepAlive: { apiValue: 300, ms: 300_000 } });

      expect(h.machine.spawns).toHaveLength(1);
      const [{ command, args, env }] = h.machine.spawns;
      expect([command, ...args]).toEqual(['ollama', 'serve']);
      expect(env).toMatchObject({ OLLAMA_HOST: 'localhost:40123', OLLAMA_KEEP_ALIVE: '300', HOME: process.env.HOME });
      const { pid } = h.supervisor.status();
      expect(h.supervisor.status()).toMatchObject({ state: 'running', ownership: 'owned', reachable: true });
      expect(h.pidFile.pid).toBe(pid);
      expect(h.machine.guards.has(pid as number)).toBe(true);
    });

    it('stops the owned process group with SIGTERM, removes the pid file and the exit guard', async () => {
      await h.started();
      const { pid } = h.supervisor.status();

      await h.supervisor.stop();

      expect(h.machine.signals).toEqual([[pid, 'SIGTERM']]);
      expect(h.machine.runner.groupMembers(pid as number)).toEqual([]);
      expect(h.pidFile.pid).toBeUndefined();
      expect(h.machine.guards.size).toBe(0);
      expect(h.supervisor.status()).toMatchObject({ state: 'stopped', reachable: false });
      expect(await h.gaugeValue()).toBe(0);
    });

    it('stops only once when stop() is called twice at the same time, or again later', async () => {
      await h.started();
      const { pid } = h.supervisor.status();

      const first = h.supervisor.stop();
      const second = h.supervisor.stop();
      expect(second).toBe(first);
      await first;
      await h.supervisor.stop();

      expect(h.machine.signals).toEqual([[pid, 'SIGTERM']]);
    });

    it('stops a server that is still starting when stop() comes', async () => {
      h.machine.script = { answers: false };
      await h.started();
      const { pid } = h.supervisor.status();
      expect(h.supervisor.status().state).toBe('starting');

      await h.supervisor.stop();

      expect(h.machine.signals[0]).toEqual([pid, 'SIGTERM']);
      expect(h.machine.running(pid as number)).toBe(false);
      expect(h.pidFile.pid).toBeUndefined();
    });

    it('reports a missing binary in operator words and retries after 1, 2, 4, 8, 16, 30, 30 s', async () => {
      h.machine.spawnError = 'ENOENT';
      await h.started();

      expect(h.supervisor.status()).toMatchObject({
        state: 'failed',
        reachable: false,
        lastError: "ollama binary 'ollama' not found on PATH; install Ollama or set OLLAMA_BIN",
      });
      expect(h.loggedErrors).toHaveBeenCalledWith(
        "ollama binary 'ollama' not found on PATH; install Ollama or set OLLAMA_BIN; retrying in 1 s",
      );
      const gaps: number[] = [];
      for (let attempt = 0; attempt < 7; attempt++) {
        const before = h.machine.spawns.length;
        gaps.push(await until(() => h.machine.spawns.length > before));
      }
      expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    });

    it('names the path when OLLAMA_BIN is a path that does not exist', async () => {
      h.machine.spawnError = 'ENOENT';
      await h.started({ bin: '/opt/ollama/bin/ollama' });

      expect(h.supervisor.status().lastError).toBe(
        "ollama binary '/opt/ollama/bin/ollama' not found; install Ollama or set OLLAMA_BIN",
      );
    });

    it('reports a server that exits at once with its exit code and last stderr lines', async () => {
      h.machine.script = {
        answers: false,
        exitsWith: 1,
        stderr: ['Error: listen tcp 127.0.0.1:11434: bind: address already in use'],
      };
      await h.started();

      expect(h.supervisor.status()).toMatchObject({
        state: 'failed',
        lastError: 'ollama serve exited with code 1: Error: listen tcp 127.0.0.1:11434: bind: address already in use',
      });
      expect(h.pidFile.pid).toBeUndefined();
      expect(h.machine.guards.size).toBe(0);
    });

    it('gives up on a start after OLLAMA_STARTUP_TIMEOUT and stops that process group', async () => {
      h.machine.script = { answers: false };
      await h.started({ startupTimeoutMs: 5_000 });
      const { pid } = h.supervisor.status();

      await jest.advanceTimersByTimeAsync(5_300);

      expect(h.supervisor.status()).toMatchObject({
        state: 'failed',
        lastError: 'ollama serve did not answer within 5 s',
      });
      expect(h.machine.signals[0]).toEqual([pid, 'SIGTERM']);
      expect(h.machine.running(pid as number)).toBe(false);
      expect(h.pidFile.pid).toBeUndefined();
    });

    it('reports a port held by something that is not Ollama, never starts one there, and retries', async () => {
      h.machine.portAnswer = { kind: 'foreign', detail: 'GET / answered 404 "Not Found"' };
      await h.started();

      expect(h.supervisor.status()).toMatchObject({ state: 'failed', lastError: PORT_HELD });
      await jest.advanceTimersByTimeAsync(1_000);
      h.machine.portAnswer = OLLAMA;
      await jest.advanceTimersByTimeAsync(2_000);

      expect(h.supervisor.status()).toMatchObject({ state: 'running', ownership: 'external' });
      expect(h.machine.spawns).toEqual([]);
    });

    it('stops what an earlier run left in its recorded group, after checking they are runners', async () => {
      const deadServer = 3_000;
      const orphan = h.machine.add({
        pgid: deadServer,
        ppid: 1,
        argv: ['/usr/lib/ollama/llama-server', '--model', 'b', '--port', '5'],
      });
      await h.startedWithRecordedPid(deadServer);

      expect(h.machine.signals[0]).toEqual([deadServer, 'SIGTERM']);
      expect(h.machine.running(orphan.pid)).toBe(false);
      expect(h.supervisor.status()).toMatchObject({ state: 'running', ownership: 'owned' });
      expect(h.pidFile.pid).toBe(h.supervisor.status().pid);
    });

    it('leaves alone a recorded group that holds processes that do not look like Ollama', async () => {
      const deadServer = 3_000;
      const stranger = h.machine.add({ pgid: deadServer, ppid: 1, argv: ['bash', '-c', 'sleep 100'] });
      await h.startedWithRecordedPid(deadServer);

      expect(h.machine.signals.filter(([pgid]) => pgid === deadServer)).toEqual([]);
      expect(h.machine.running(stranger.pid)).toBe(true);
      expect(h.supervisor.status().ownership).toBe('owned');
    });

    it('stops the earlier run’s server when it is alive but does not serve, then starts a new one', async () => {
      const hung = h.machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
      h.machine.portAnswer = { kind: 'silent', detail: 'accepted the connection but did not answer within 2 s' };
      h.machine.processes.get(hung.pid)!.exit = () => {
        hung.running = false;
        h.machine.portAnswer = NOTHING;
      };
      await h.startedWithRecordedPid(hung.pid);

      expect(h.machine.signals[0]).toEqual([hung.pid, 'SIGTERM']);
      expect(h.machine.running(hung.pid)).toBe(false);
      await until(() => h.supervisor.status().ownership === 'owned');
    });
  });

  describe('when nothing answers and this service may not start Ollama', () => {
    it.each([
      ['the URL is another host', { url: 'http://ollama.internal.example:11434' }],
      ['OLLAMA_AUTO_START is off', { url: URL_, autoStart: false }],
    ])('reports it is not reachable when %s, and never spawns', async (_, overrides) => {
      await h.started(overrides);

      expect(h.supervisor.status()).toMatchObject({
        state: 'failed',
        lastError: `Ollama is not reachable at ${overrides.url}; start it or set OLLAMA_URL`,
      });
      await jest.advanceTimersByTimeAsync(10_000);
      expect(h.machine.spawns).toEqual([]);
    });
  });
});

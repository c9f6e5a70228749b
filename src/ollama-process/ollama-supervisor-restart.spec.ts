import { NOTHING, OLLAMA } from '../../test/ollama-process/fake-machine';
import { until, useSupervisorHarness } from '../../test/ollama-process/supervisor-fixtures';
import {
  FAILED_POLLS_BEFORE_DOWN,
  FAILED_POLLS_BEFORE_RESTART,
  MONITOR_INTERVAL_MS,
  OllamaSupervisor,
} from './ollama-supervisor';

describe(OllamaSupervisor.name, () => {
  const h = useSupervisorHarness();

  describe('an owned server that exits', () => {
    it('is restarted after 1 s with a new pid, counted, and listeners hear down then up', async () => {
      await h.started();
      const first = h.supervisor.status().pid as number;
      const changes: boolean[] = [];
      h.supervisor.onChange((up) => changes.push(up));

      h.machine.kill(first, 'SIGKILL');
      await jest.advanceTimersByTimeAsync(0);
      expect(h.supervisor.status()).toMatchObject({ state: 'restarting', reachable: false, restarts: 0 });
      expect(h.supervisor.status()).not.toHaveProperty('version', expect.anything());
      expect(h.supervisor.status()).not.toHaveProperty('pid', expect.anything());
      expect(h.supervisor.status().lastError).toContain(
        `ollama serve (pid ${first}) exited unexpectedly with signal SIGKILL`,
      );
      // Its runner lost its server: it is cleared away with the group.
      expect(h.machine.runner.groupMembers(first)).toEqual([]);

      await jest.advanceTimersByTimeAsync(999);
      expect(h.machine.spawns).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);

      const second = h.supervisor.status().pid;
      expect(second).not.toBe(first);
      expect(h.supervisor.status()).toMatchObject({
        state: 'running',
        ownership: 'owned',
        reachable: true,
        restarts: 1,
      });
      expect(await h.restartsCounted()).toBe(1);
      expect(h.pidFile.pid).toBe(second);
      expect(changes).toEqual([false, true]);
    });

    it('backs off 1, 2, 4 s while it keeps crashing, and from 1 s again after it stayed up for a minute', async () => {
      await h.started();
      const crashAndTimeRestart = async (): Promise<number> => {
        const before = h.machine.spawns.length;
        h.machine.kill(h.supervisor.status().pid as number, 'SIGKILL');
        return until(() => h.machine.spawns.length > before);
      };

      expect(await crashAndTimeRestart()).toBe(1_000);
      expect(await crashAndTimeRestart()).toBe(2_000);
      expect(await crashAndTimeRestart()).toBe(4_000);
      await jest.advanceTimersByTimeAsync(61_000);
      expect(await crashAndTimeRestart()).toBe(1_000);
      expect(h.supervisor.status().restarts).toBe(4);
    });

    it('an adopted server that exits is replaced by an owned one', async () => {
      const earlier = h.machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
      h.machine.portAnswer = OLLAMA;
      await h.startedWithRecordedPid(earlier.pid);
      expect(h.supervisor.status().ownership).toBe('adopted');

      earlier.running = false;
      h.machine.portAnswer = NOTHING;
      await until(() => h.supervisor.status().ownership === 'owned');

      expect(h.supervisor.status()).toMatchObject({ state: 'running', restarts: 1 });
      expect(h.supervisor.status().pid).not.toBe(earlier.pid);
    });

    it('a server that stays alive but stops answering is restarted', async () => {
      await h.started();
      const first = h.supervisor.status().pid as number;
      const serving = h.machine.probe.version;
      h.machine.probe.version = () => Promise.resolve({ ok: false, detail: 'did not answer within 2 s' });

      await jest.advanceTimersByTimeAsync(MONITOR_INTERVAL_MS * FAILED_POLLS_BEFORE_DOWN);
      expect(h.supervisor.status()).toMatchObject({ state: 'running', reachable: false, pid: first });

      await jest.advanceTimersByTimeAsync(
        MONITOR_INTERVAL_MS * (FAILED_POLLS_BEFORE_RESTART - FAILED_POLLS_BEFORE_DOWN),
      );
      expect(h.machine.signals[0]).toEqual([first, 'SIGTERM']);
      h.machine.probe.version = serving;
      await until(() => h.supervisor.isUp());
      expect(h.supervisor.status().pid).not.toBe(first);
      expect(h.supervisor.status().restarts).toBe(1);
    });
  });

  describe('whenUp', () => {
    it('resolves once the server answers, and at once when it already does', async () => {
      h.machine.script = { answers: false };
      h.build();
      const up = jest.fn();
      void h.supervisor.whenUp().then(up);
      h.supervisor.start();
      await jest.advanceTimersByTimeAsync(1_000);
      expect(up).not.toHaveBeenCalled();

      h.machine.portAnswer = OLLAMA;
      await jest.advanceTimersByTimeAsync(300);
      expect(up).toHaveBeenCalled();
      await expect(h.supervisor.whenUp()).resolves.toBeUndefined();
    });

    it('rejects when its signal aborts', async () => {
      h.machine.spawnError = 'ENOENT';
      await h.started();
      const controller = new AbortController();
      const waiting = h.supervisor.whenUp(controller.signal);
      controller.abort(new Error('deadline'));
      await expect(waiting).rejects.toThrow('deadline');
    });
  });
});

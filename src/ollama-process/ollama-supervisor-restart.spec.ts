import type { OllamaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { FakeMachine, FakePidFile, NOTHING, OLLAMA } from '../../test/ollama-process/fake-machine';
import {
  newSupervisor,
  quietLogs,
  restartsCountedIn,
  stopAndRestore,
  until,
} from '../../test/ollama-process/supervisor-fixtures';
import {
  FAILED_POLLS_BEFORE_DOWN,
  FAILED_POLLS_BEFORE_RESTART,
  MONITOR_INTERVAL_MS,
  OllamaSupervisor,
} from './ollama-supervisor';

describe(OllamaSupervisor.name, () => {
  let machine: FakeMachine;
  let pidFile: FakePidFile;
  let metrics: MetricsService;
  let supervisor: OllamaSupervisor;

  function build(overrides: Partial<OllamaConfig> = {}): OllamaSupervisor {
    ({ supervisor, pidFile } = newSupervisor(machine, metrics, overrides));
    return supervisor;
  }

  async function started(overrides: Partial<OllamaConfig> = {}): Promise<OllamaSupervisor> {
    build(overrides).start();
    await jest.advanceTimersByTimeAsync(0);
    return supervisor;
  }

  const restartsCounted = (): Promise<number> => restartsCountedIn(metrics);

  beforeEach(() => {
    jest.useFakeTimers();
    machine = new FakeMachine();
    metrics = new MetricsService();
    quietLogs();
  });

  afterEach(() => stopAndRestore(supervisor));

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

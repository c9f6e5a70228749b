import type { OllamaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { FakeMachine, FakePidFile, NOTHING, OLLAMA } from '../../test/ollama-process/fake-machine';
import {
  URL_,
  newSupervisor,
  ollamaUpGauge,
  quietLogs,
  stopAndRestore,
  until,
} from '../../test/ollama-process/supervisor-fixtures';
import { FAILED_POLLS_BEFORE_DOWN, MONITOR_INTERVAL_MS, OllamaSupervisor } from './ollama-supervisor';

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

  const gaugeValue = (): Promise<number> => ollamaUpGauge(metrics);

  beforeEach(() => {
    jest.useFakeTimers();
    machine = new FakeMachine();
    metrics = new MetricsService();
    quietLogs();
  });

  afterEach(() => stopAndRestore(supervisor));

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
});

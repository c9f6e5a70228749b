import { NOTHING, OLLAMA } from '../../test/ollama-process/fake-machine';
import { URL_, until, useSupervisorHarness } from '../../test/ollama-process/supervisor-fixtures';
import { FAILED_POLLS_BEFORE_DOWN, MONITOR_INTERVAL_MS, OllamaSupervisor } from './ollama-supervisor';

describe(OllamaSupervisor.name, () => {
  const h = useSupervisorHarness();

  describe('an Ollama that already answers', () => {
    it('is used as external and never signalled, not even at stop', async () => {
      h.machine.portAnswer = OLLAMA;
      await h.started();

      expect(h.supervisor.status()).toEqual({
        state: 'running',
        reachable: true,
        version: '0.33.0',
        ownership: 'external',
        restarts: 0,
        url: URL_,
      });
      expect(await h.gaugeValue()).toBe(1);

      await h.supervisor.stop();
      expect(h.machine.spawns).toEqual([]);
      expect(h.machine.signals).toEqual([]);
      expect(h.supervisor.status().state).toBe('stopped');
    });

    it('is adopted when the pid file names the orphaned `ollama serve` an earlier run started, and stopped at shutdown', async () => {
      const earlier = h.machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
      h.machine.portAnswer = OLLAMA;
      await h.startedWithRecordedPid(earlier.pid);

      expect(h.supervisor.status()).toMatchObject({ state: 'running', ownership: 'adopted', pid: earlier.pid });
      expect(h.machine.guards.has(earlier.pid)).toBe(true);

      await h.supervisor.stop();
      expect(h.machine.signals[0]).toEqual([earlier.pid, 'SIGTERM']);
      expect(h.machine.running(earlier.pid)).toBe(false);
      expect(h.pidFile.pid).toBeUndefined();
      expect(h.machine.guards.size).toBe(0);
    });

    it('is external when the recorded pid now belongs to another program, whose pid is never signalled', async () => {
      const reused = h.machine.add({ argv: ['/usr/bin/postgres', '-D', '/data'], ppid: 1 });
      h.machine.portAnswer = OLLAMA;
      await h.startedWithRecordedPid(reused.pid);

      expect(h.supervisor.status()).toMatchObject({ ownership: 'external' });
      expect(h.pidFile.pid).toBeUndefined();
      await h.supervisor.stop();
      expect(h.machine.signals).toEqual([]);
      expect(h.machine.running(reused.pid)).toBe(true);
    });

    it('is external when the recorded server is still the child of another running instance of this service', async () => {
      const otherInstance = h.machine.add({ argv: ['node', 'dist/main.js'], ppid: 1, exe: process.execPath });
      const theirs = h.machine.add({ argv: ['ollama', 'serve'], ppid: otherInstance.pid });
      h.machine.portAnswer = OLLAMA;
      await h.startedWithRecordedPid(theirs.pid);

      expect(h.supervisor.status()).toMatchObject({ ownership: 'external' });
      expect(h.pidFile.pid).toBe(theirs.pid);
      await h.supervisor.stop();
      expect(h.machine.signals).toEqual([]);
    });

    it('goes down after failed polls, tells listeners, and is used again when it comes back', async () => {
      h.machine.portAnswer = OLLAMA;
      await h.started();
      const changes: boolean[] = [];
      h.supervisor.onChange((up) => changes.push(up));

      h.machine.portAnswer = NOTHING;
      await jest.advanceTimersByTimeAsync(MONITOR_INTERVAL_MS * FAILED_POLLS_BEFORE_DOWN);
      expect(h.supervisor.status()).toMatchObject({ state: 'failed', reachable: false });
      expect(h.supervisor.status().lastError).toContain('Ollama at http://127.0.0.1:11434 stopped answering');
      expect(h.supervisor.status().version).toBeUndefined();
      expect(h.supervisor.status().ownership).toBeUndefined();
      expect(await h.gaugeValue()).toBe(0);

      h.machine.portAnswer = OLLAMA;
      await until(() => h.supervisor.isUp());
      expect(changes).toEqual([false, true]);
      expect(h.supervisor.status()).toMatchObject({ state: 'running', ownership: 'external' });
      expect(h.supervisor.status().lastError).toBeUndefined();
    });
  });
});

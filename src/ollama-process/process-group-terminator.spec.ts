import { Logger } from '@nestjs/common';
import { FakeMachine } from '../../test/ollama-process/fake-machine';
import { KILL_WAIT_MS, ProcessGroupTerminator } from './process-group-terminator';
import { ProcessRunner, SpawnedProcess } from './process-runner';

function quietLogger(): { logger: Logger; warn: jest.SpyInstance; error: jest.SpyInstance } {
  const logger = new Logger('test');
  return {
    logger,
    warn: jest.spyOn(logger, 'warn').mockImplementation(() => undefined),
    error: jest.spyOn(logger, 'error').mockImplementation(() => undefined),
  };
}

describe(ProcessGroupTerminator.name, () => {
  describe('on a process table in memory', () => {
    let machine: FakeMachine;

    beforeEach(() => {
      jest.useFakeTimers();
      machine = new FakeMachine();
    });

    afterEach(() => {
      jest.useRealTimers();
    });

    /** An `ollama serve` with one runner in its group, as `ollama serve` leaves them. */
    function serverWithRunner(fields: { serverIgnoresSigterm?: boolean; runnerIgnoresSigterm?: boolean }): {
      pid: number;
      runner: number;
    } {
      const server = machine.add({ argv: ['ollama', 'serve'], ignoresSigterm: fields.serverIgnoresSigterm });
      const runner = machine.add({
        pgid: server.pid,
        ppid: server.pid,
        argv: ['llama-server', '--model', 'm', '--port', '1'],
        ignoresSigterm: fields.runnerIgnoresSigterm,
      });
      return { pid: server.pid, runner: runner.pid };
    }

    it('sends SIGTERM and nothing more to a group that goes at once', async () => {
      const { pid, runner } = serverWithRunner({});
      const terminator = new ProcessGroupTerminator(machine.runner, 5_000, quietLogger().logger);

      await terminator.terminate(pid, () => !machine.running(pid));

      expect(machine.signals).toEqual([[pid, 'SIGTERM']]);
      expect(machine.running(runner)).toBe(false);
    });

    it('sends SIGKILL to the group when the server ignores SIGTERM for the grace period', async () => {
      const { pid } = serverWithRunner({ serverIgnoresSigterm: true });
      const { logger, warn } = quietLogger();
      const terminator = new ProcessGroupTerminator(machine.runner, 5_000, logger);

      const stopping = terminator.terminate(pid, () => !machine.running(pid));
      await jest.advanceTimersByTimeAsync(4_900);
      expect(machine.signals).toEqual([[pid, 'SIGTERM']]);
      await jest.advanceTimersByTimeAsync(200);
      await stopping;

      expect(machine.signals).toEqual([
        [pid, 'SIGTERM'],
        [pid, 'SIGKILL'],
      ]);
      expect(machine.runner.groupMembers(pid)).toEqual([]);
      expect(warn).toHaveBeenCalledWith(`Ollama (pid ${pid}) did not stop within 5 s of SIGTERM; sending SIGKILL`);
    });

    it('sends SIGKILL to the group when a runner outlives the server that exited cleanly', async () => {
      const { pid, runner } = serverWithRunner({ runnerIgnoresSigterm: true });
      const { logger, warn } = quietLogger();
      const terminator = new ProcessGroupTerminator(machine.runner, 5_000, logger);

      await terminator.terminate(pid, () => !machine.running(pid));

      expect(machine.signals).toEqual([
        [pid, 'SIGTERM'],
        [pid, 'SIGKILL'],
      ]);
      expect(machine.runner.groupMembers(pid)).toEqual([]);
      expect(machine.running(runner)).toBe(false);
      expect(warn).not.toHaveBeenCalled();
    });

    it('sends only SIGKILL to what is left of a group whose leader is already gone', async () => {
      const { pid, runner } = serverWithRunner({});
      machine.processes.get(pid)!.running = false;
      const terminator = new ProcessGroupTerminator(machine.runner, 5_000, quietLogger().logger);

      await terminator.terminate(pid, () => !machine.running(pid));

      expect(machine.signals).toEqual([[pid, 'SIGKILL']]);
      expect(machine.running(runner)).toBe(false);
    });

    it('ends a group once when asked twice at the same time, and sends nothing when asked again later', async () => {
      const { pid } = serverWithRunner({ serverIgnoresSigterm: true });
      const terminator = new ProcessGroupTerminator(machine.runner, 1_000, quietLogger().logger);
      const leaderGone = (): boolean => !machine.running(pid);

      const first = terminator.terminate(pid, leaderGone);
      const second = terminator.terminate(pid, leaderGone);
      expect(second).toBe(first);
      await jest.advanceTimersByTimeAsync(1_100);
      await first;
      await terminator.terminate(pid, leaderGone);

      expect(machine.signals).toEqual([
        [pid, 'SIGTERM'],
        [pid, 'SIGKILL'],
      ]);
    });

    it('says which processes survived SIGKILL, and returns after a bounded wait', async () => {
      const undying = {
        signalGroup: jest.fn(() => true),
        groupMembers: jest.fn(() => [4100, 4101]),
      };
      const { logger, error } = quietLogger();
      const terminator = new ProcessGroupTerminator(undying, 1_000, logger);

      const stopping = terminator.terminate(4100, () => false);
      await jest.advanceTimersByTimeAsync(1_000 + KILL_WAIT_MS + 200);
      await stopping;

      expect(undying.signalGroup.mock.calls).toEqual([
        [4100, 'SIGTERM'],
        [4100, 'SIGKILL'],
      ]);
      expect(error).toHaveBeenCalledWith('processes of group 4100 survived SIGKILL: 4100, 4101');
    });
  });

  describe('on real processes', () => {
    const runner = new ProcessRunner();
    const started: SpawnedProcess[] = [];

    /** Starts `sh -c script` as a group leader and waits until its group runs `sleep 300`, traps set. */
    async function group(script: string): Promise<SpawnedProcess> {
      const child = await runner.spawnGroupLeader('sh', ['-c', script], process.env, () => undefined);
      started.push(child);
      const deadline = Date.now() + 5_000;
      const sleeping = (): boolean =>
        runner.groupMembers(child.pid).some((pid) => runner.cmdline(pid)?.join(' ') === 'sleep 300');
      while (!sleeping()) {
        if (Date.now() > deadline) {
          throw new Error(`group ${child.pid} never ran 'sleep 300'`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return child;
    }

    afterEach(() => {
      jest.restoreAllMocks();
      for (const child of started.splice(0)) {
        runner.signalGroup(child.pid, 'SIGKILL');
      }
    });

    it('kills a group that ignores SIGTERM, children included, once the grace period is over', async () => {
      const child = await group(`trap '' TERM; sleep 300 & wait`);
      const { logger, warn } = quietLogger();
      const signals = jest.spyOn(runner, 'signalGroup');

      await new ProcessGroupTerminator(runner, 300, logger).terminate(child.pid, () => child.hasExited());

      expect(runner.groupMembers(child.pid)).toEqual([]);
      expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(signals.mock.calls).toEqual([
        [child.pid, 'SIGTERM'],
        [child.pid, 'SIGKILL'],
      ]);
      expect(warn).toHaveBeenCalledWith(
        `Ollama (pid ${child.pid}) did not stop within 0.3 s of SIGTERM; sending SIGKILL`,
      );
    });

    it('kills the child left behind by a leader that exits on SIGTERM', async () => {
      // The background child ignores SIGTERM and outlives its leader, which exits cleanly: only SIGKILL ends it.
      const child = await group(`(trap '' TERM; exec sleep 300) & trap 'exit 0' TERM; while :; do sleep 0.05; done`);
      const { logger, warn } = quietLogger();
      const signals = jest.spyOn(runner, 'signalGroup');

      await new ProcessGroupTerminator(runner, 5_000, logger).terminate(child.pid, () => child.hasExited());

      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(signals.mock.calls).toEqual([
        [child.pid, 'SIGTERM'],
        [child.pid, 'SIGKILL'],
      ]);
      expect(runner.groupMembers(child.pid)).toEqual([]);
      expect(warn).not.toHaveBeenCalled();
    });
  });
});

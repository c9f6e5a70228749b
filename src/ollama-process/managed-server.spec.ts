import { Logger } from '@nestjs/common';
import { FakeMachine, FakePidFile } from '../../test/ollama-process/fake-machine';
import { ManagedServer } from './managed-server';
import { ProcessGroupTerminator } from './process-group-terminator';

describe(ManagedServer.name, () => {
  let machine: FakeMachine;
  let pidFile: FakePidFile;
  let server: ManagedServer;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers();
    machine = new FakeMachine();
    pidFile = new FakePidFile('/run/test/ollama-manager-11434.pid');
    const logger = new Logger('test');
    warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    server = new ManagedServer(
      machine.runner,
      pidFile,
      new ProcessGroupTerminator(machine.runner, 5_000, logger),
      logger,
    );
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('holds nothing at first, and releasing nothing signals nothing', async () => {
    expect(server.pid).toBeUndefined();
    expect(server.ownership).toBeUndefined();
    await server.release();
    expect(machine.signals).toEqual([]);
  });

  it('owns a started server: records its pid, guards its group, and ends both on release', async () => {
    const child = await machine.runner.spawnGroupLeader('ollama', ['serve'], {}, () => undefined);

    server.own(child);
    expect(server).toMatchObject({ pid: child.pid, ownership: 'owned' });
    expect(server.holds(child)).toBe(true);
    expect(pidFile.pid).toBe(child.pid);
    expect(machine.guards.has(child.pid)).toBe(true);

    await server.release();
    expect(machine.signals).toEqual([[child.pid, 'SIGTERM']]);
    expect(machine.runner.groupMembers(child.pid)).toEqual([]);
    expect(server.pid).toBeUndefined();
    expect(server.holds(child)).toBe(false);
    expect(pidFile.pid).toBeUndefined();
    expect(machine.guards.size).toBe(0);
  });

  it('lets go before the group is signalled, so that the exit it causes is not taken for a crash', async () => {
    const child = await machine.runner.spawnGroupLeader('ollama', ['serve'], {}, () => undefined);
    server.own(child);
    const heldAtExit: boolean[] = [];
    void child.exited.then(() => heldAtExit.push(server.holds(child)));

    await server.release();

    expect(heldAtExit).toEqual([false]);
  });

  it('still owns a server whose pid cannot be recorded, and says what that risks', async () => {
    const child = await machine.runner.spawnGroupLeader('ollama', ['serve'], {}, () => undefined);
    pidFile.write = () => {
      throw new Error('EACCES: permission denied');
    };

    server.own(child);

    expect(server.pid).toBe(child.pid);
    expect(warn).toHaveBeenCalledWith(
      `cannot write the pid file ${pidFile.path} (EACCES: permission denied); if this service crashes, ` +
        `the next run cannot find Ollama (pid ${child.pid})`,
    );
  });

  it('adopts an earlier run’s server, notices when it exits, and stops it on release', async () => {
    const earlier = machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
    pidFile.pid = earlier.pid;

    server.adopt(earlier.pid);
    expect(server).toMatchObject({ pid: earlier.pid, ownership: 'adopted' });
    expect(machine.guards.has(earlier.pid)).toBe(true);
    expect(server.adoptedOneExited()).toBe(false);

    await server.release();
    expect(machine.signals).toEqual([[earlier.pid, 'SIGTERM']]);
    expect(pidFile.pid).toBeUndefined();
    expect(machine.guards.size).toBe(0);
  });

  it('tells an adopted server that exited on its own', () => {
    const earlier = machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
    server.adopt(earlier.pid);

    earlier.running = false;

    expect(server.adoptedOneExited()).toBe(true);
  });
});

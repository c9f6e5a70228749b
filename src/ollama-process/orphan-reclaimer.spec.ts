import { Logger } from '@nestjs/common';
import { FakeMachine, FakePidFile } from '../../test/ollama-process/fake-machine';
import { OrphanReclaimer } from './orphan-reclaimer';
import { ProcessGroupTerminator } from './process-group-terminator';

const URL_ = 'http://127.0.0.1:11434';
const PID_FILE = '/run/test/ollama-manager-11434.pid';
/** A pid no process has any more: the recorded server died. */
const DEAD_SERVER = 3_000;
const RUNNER_ARGV = ['/usr/lib/ollama/llama-server', '--model', 'b', '--port', '5'];

describe(OrphanReclaimer.name, () => {
  let machine: FakeMachine;
  let pidFile: FakePidFile;
  let reclaimer: OrphanReclaimer;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers();
    machine = new FakeMachine();
    pidFile = new FakePidFile(PID_FILE);
    const logger = new Logger('test');
    warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
    const terminator = new ProcessGroupTerminator(machine.runner, 5_000, logger);
    reclaimer = new OrphanReclaimer(machine.runner, pidFile, terminator, { bin: 'ollama', url: URL_ }, logger);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('finds nothing, and touches nothing, without a pid file', async () => {
    expect(reclaimer.inspect()).toEqual({ kind: 'none' });

    await reclaimer.reclaim(reclaimer.inspect());
    expect(machine.signals).toEqual([]);
  });

  it('names the orphaned `ollama serve` an earlier run started, without signalling it', () => {
    const earlier = machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
    pidFile.pid = earlier.pid;

    expect(reclaimer.inspect()).toEqual({ kind: 'serve', pid: earlier.pid });
    expect(machine.signals).toEqual([]);
    expect(pidFile.pid).toBe(earlier.pid);
  });

  it('counts a recorded server under a subreaper (not this service) as orphaned', () => {
    const tini = machine.add({ argv: ['/sbin/tini', '--', 'node', 'dist/main.js'], ppid: 1, exe: '/sbin/tini' });
    const earlier = machine.add({ argv: ['/usr/local/bin/ollama', 'serve'], ppid: tini.pid });
    pidFile.pid = earlier.pid;

    expect(reclaimer.inspect()).toEqual({ kind: 'serve', pid: earlier.pid });
  });

  it('stops the earlier run’s server when it is alive but does not serve the URL, and removes the pid file', async () => {
    const hung = machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
    pidFile.pid = hung.pid;

    await reclaimer.reclaim(reclaimer.inspect());

    expect(machine.signals[0]).toEqual([hung.pid, 'SIGTERM']);
    expect(machine.running(hung.pid)).toBe(false);
    expect(pidFile.pid).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(
      `the Ollama (pid ${hung.pid}) an earlier run of this service started does not serve ${URL_}; stopping its process group`,
    );
  });

  it('leaves a recorded server alone, pid file included, while another running instance of this service manages it', async () => {
    const otherInstance = machine.add({ argv: ['node', 'dist/main.js'], ppid: 1, exe: process.execPath });
    const theirs = machine.add({ argv: ['ollama', 'serve'], ppid: otherInstance.pid });
    pidFile.pid = theirs.pid;

    const recorded = reclaimer.inspect();
    expect(recorded).toEqual({ kind: 'managed-elsewhere', pid: theirs.pid, managerPid: otherInstance.pid });
    await reclaimer.reclaim(recorded);

    expect(machine.signals).toEqual([]);
    expect(pidFile.pid).toBe(theirs.pid);
  });

  it('takes a recorded pid that now belongs to another program for stale: never signalled, pid file removed', async () => {
    const reused = machine.add({ argv: ['/usr/bin/postgres', '-D', '/data'], ppid: 1 });
    pidFile.pid = reused.pid;

    const recorded = reclaimer.inspect();
    expect(recorded).toEqual({ kind: 'stale', pid: reused.pid });
    await reclaimer.reclaim(recorded);

    expect(machine.signals).toEqual([]);
    expect(machine.running(reused.pid)).toBe(true);
    expect(pidFile.pid).toBeUndefined();
  });

  it('takes an `ollama serve` that leads no group of its own for stale', () => {
    const notOurs = machine.add({ argv: ['ollama', 'serve'], ppid: 1, pgid: 1234 });
    pidFile.pid = notOurs.pid;

    expect(reclaimer.inspect()).toEqual({ kind: 'stale', pid: notOurs.pid });
  });

  it('takes a dead server with nothing left of its group for stale', async () => {
    pidFile.pid = DEAD_SERVER;

    await reclaimer.reclaim(reclaimer.inspect());

    expect(machine.signals).toEqual([]);
    expect(pidFile.pid).toBeUndefined();
  });

  it('stops what an earlier run left in its recorded group, after checking they are runners', async () => {
    const orphan = machine.add({ pgid: DEAD_SERVER, ppid: 1, argv: RUNNER_ARGV });
    const another = machine.add({
      pgid: DEAD_SERVER,
      ppid: 1,
      argv: ['ollama', 'runner', '--model', 'c', '--port', '6'],
    });
    pidFile.pid = DEAD_SERVER;

    const recorded = reclaimer.inspect();
    expect(recorded).toEqual({ kind: 'leftovers', pgid: DEAD_SERVER, members: [orphan.pid, another.pid] });
    await reclaimer.reclaim(recorded);

    expect(machine.signals[0]).toEqual([DEAD_SERVER, 'SIGTERM']);
    expect(machine.running(orphan.pid)).toBe(false);
    expect(machine.running(another.pid)).toBe(false);
    expect(pidFile.pid).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(
      `stopping processes ${orphan.pid}, ${another.pid} left in the process group of the Ollama (pid ${DEAD_SERVER}) ` +
        'an earlier run of this service started',
    );
  });

  it('leaves alone a recorded group that holds a process that does not look like Ollama', async () => {
    machine.add({ pgid: DEAD_SERVER, ppid: 1, argv: RUNNER_ARGV });
    const stranger = machine.add({ pgid: DEAD_SERVER, ppid: 1, argv: ['bash', '-c', 'sleep 100'] });
    pidFile.pid = DEAD_SERVER;

    const recorded = reclaimer.inspect();
    expect(recorded).toMatchObject({ kind: 'strangers', pgid: DEAD_SERVER });
    await reclaimer.reclaim(recorded);

    expect(machine.signals.filter(([pgid]) => pgid === DEAD_SERVER)).toEqual([]);
    expect(machine.running(stranger.pid)).toBe(true);
    expect(pidFile.pid).toBeUndefined();
  });

  it('reads only the pid file it was given', () => {
    const earlier = machine.add({ argv: ['ollama', 'serve'], ppid: 1 });
    const otherFile = new FakePidFile('/run/test/ollama-manager-11435.pid');
    otherFile.pid = earlier.pid;
    const terminator = new ProcessGroupTerminator(machine.runner, 5_000);
    const other = new OrphanReclaimer(machine.runner, otherFile, terminator, {
      bin: 'ollama',
      url: 'http://127.0.0.1:11435',
    });

    expect(reclaimer.inspect()).toEqual({ kind: 'none' });
    expect(other.inspect()).toEqual({ kind: 'serve', pid: earlier.pid });
  });
});

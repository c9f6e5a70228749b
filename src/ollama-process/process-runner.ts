import { Injectable } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** How a process ended: its exit code, or the signal that killed it. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child started by {@link ProcessRunner.spawnGroupLeader}. Its pid is also its process group id. */
export interface SpawnedProcess {
  readonly pid: number;
  /** Resolves once the process has exited and been reaped; never rejects. */
  readonly exited: Promise<ProcessExit>;
  hasExited(): boolean;
}

/** What `/proc/<pid>/stat` says about a process. */
export interface ProcessStat {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** One letter: `R`, `S`, `D`, `Z` (zombie: dead, not yet reaped), ... */
  readonly state: string;
}

export type OutputStream = 'stdout' | 'stderr';

/**
 * The only place that touches `child_process` and `process.kill`, so that the supervisor's decisions
 * can be tested with a fake. Process inspection reads Linux's `/proc`; elsewhere it finds nothing, which
 * makes the supervisor treat every recorded process as gone and never adopt or signal it.
 */
@Injectable()
export class ProcessRunner {
  /**
   * Starts `command args` as the leader of a new process group and session (so that signals to the
   * group reach its children too), with both output streams read line by line into `onLine`.
   * @returns once the process runs.
   * @throws the spawn error (`code` `ENOENT` when the executable does not exist, `EACCES`, ...).
   */
  spawnGroupLeader(
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    onLine: (stream: OutputStream, line: string) => void,
  ): Promise<SpawnedProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let exit: ProcessExit | undefined;
      const exited = new Promise<ProcessExit>((resolveExit) => {
        child.once('exit', (code, signal) => {
          exit = { code, signal };
          resolveExit(exit);
        });
      });
      child.once('error', reject);
      child.once('spawn', () => {
        child.off('error', reject);
        // Errors after the start (a failed kill, a broken pipe) change nothing: the exit event tells.
        child.on('error', () => undefined);
        drainLines(child.stdout, (line) => onLine('stdout', line));
        drainLines(child.stderr, (line) => onLine('stderr', line));
        resolve({ pid: child.pid as number, exited, hasExited: () => exit !== undefined });
      });
    });
  }

  /**
   * Sends `signal` to every process of group `pgid`.
   * @returns false when the group has no process left.
   */
  signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
    try {
      process.kill(-pgid, signal);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
        return false;
      }
      throw error;
    }
  }

  /**
   * SIGKILLs group `pgid` and runs `cleanup` when this process exits without having called the returned
   * function first: the last resort for an uncaught exception or a `process.exit` that skipped shutdown.
   * @returns a function that removes the guard (after a normal stop).
   */
  guardGroupAtExit(pgid: number, cleanup: () => void): () => void {
    const onExit = (): void => {
      this.signalGroup(pgid, 'SIGKILL');
      cleanup();
    };
    process.once('exit', onExit);
    return () => {
      process.off('exit', onExit);
    };
  }

  /** The process's entry in `/proc`, or undefined when there is no such process. */
  stat(pid: number): ProcessStat | undefined {
    const text = readProc(`/proc/${pid}/stat`);
    if (text === undefined) {
      return undefined;
    }
    // The command name in parentheses may itself hold spaces and parentheses: split after the last one.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0], ppid: Number(fields[1]), pgid: Number(fields[2]) };
  }

  /** True while `pid` exists and is not a zombie. */
  isRunning(pid: number): boolean {
    const stat = this.stat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  }

  /** The process's arguments (`argv[0]` first), or undefined when unreadable. */
  cmdline(pid: number): string[] | undefined {
    const text = readProc(`/proc/${pid}/cmdline`);
    if (text === undefined || text === '') {
      return undefined;
    }
    return text.replace(/\0$/, '').split('\0');
  }

  /** The path of the program the process runs (`/proc/<pid>/exe`), or undefined when unreadable. */
  executable(pid: number): string | undefined {
    try {
      return readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return undefined;
    }
  }

  /** The running (not zombie) processes of group `pgid`, the leader included while it runs. */
  groupMembers(pgid: number): number[] {
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return [];
    }
    return entries
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => {
        const stat = this.stat(pid);
        return stat !== undefined && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X';
      });
  }
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function drainLines(stream: Readable, onLine: (line: string) => void): void {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() !== '') {
      onLine(line);
    }
  });
  // A broken pipe or a reset only ends the output; the process's exit is what the supervisor watches.
  stream.on('error', () => lines.close());
}

import type { ProbeResult, VersionResult } from '../../src/ollama-process/ollama-probe';
import type { OutputStream, ProcessExit, ProcessStat, SpawnedProcess } from '../../src/ollama-process/process-runner';

/**
 * A process table, signals and an Ollama URL in memory, for the unit specs of `src/ollama-process/`:
 * what the supervisor and its helpers decide can be checked step by step under fake timers. The real
 * processes and signals are in `ollama-process.e2e-spec.ts`.
 */

export const OLLAMA = { kind: 'ollama', version: '0.33.0' } as const;
export const NOTHING = { kind: 'unreachable', detail: 'connection refused' } as const;

export interface FakeProcess {
  pid: number;
  ppid: number;
  pgid: number;
  argv: string[];
  exe: string;
  running: boolean;
  /** What it does on SIGTERM: exit (the default), or nothing. */
  ignoresSigterm?: boolean;
  exit?: (exit: ProcessExit) => void;
}

/** How the next spawned `ollama serve` behaves. */
export interface ServerScript {
  /** Answers as Ollama once started (default), or never. */
  answers: boolean;
  /** Exits at once with this code, after writing `stderr`. */
  exitsWith?: number;
  stderr?: string[];
  ignoresSigterm?: boolean;
  /** Its runner ignores SIGTERM and outlives the server's clean exit: SIGKILL of the group must end it. */
  runnerIgnoresSigterm?: boolean;
}

/** The machine as the supervisor sees it: a process table, signals, and what answers at the URL. */
export class FakeMachine {
  readonly processes = new Map<number, FakeProcess>();
  readonly signals: Array<[pgid: number, signal: NodeJS.Signals]> = [];
  readonly spawns: Array<{ command: string; args: readonly string[]; env: NodeJS.ProcessEnv }> = [];
  readonly guards = new Set<number>();
  /** What answers at the URL when no server of ours does. */
  portAnswer: ProbeResult = NOTHING;
  spawnError?: string;
  script: ServerScript = { answers: true };
  private serving?: number;
  private nextPid = 4000;

  readonly runner = {
    spawnGroupLeader: (
      command: string,
      args: readonly string[],
      env: NodeJS.ProcessEnv,
      onLine: (stream: OutputStream, line: string) => void,
    ): Promise<SpawnedProcess> => {
      this.spawns.push({ command, args, env });
      if (this.spawnError !== undefined) {
        return Promise.reject(
          Object.assign(new Error(`spawn ${command} ${this.spawnError}`), { code: this.spawnError }),
        );
      }
      const script = this.script;
      const leader = this.add({ argv: [command, ...args], ignoresSigterm: script.ignoresSigterm });
      const runnerChild = this.add({
        pgid: leader.pid,
        ppid: leader.pid,
        argv: ['llama-server', '--model', 'm', '--port', '1'],
        ignoresSigterm: script.runnerIgnoresSigterm,
      });
      let exited: ProcessExit | undefined;
      const exitedPromise = new Promise<ProcessExit>((resolve) => {
        leader.exit = (exit) => {
          exited = exit;
          leader.running = false;
          if (this.serving === leader.pid) {
            this.serving = undefined;
          }
          if (exit.code === 0 && !script.runnerIgnoresSigterm) {
            runnerChild.running = false;
          }
          resolve(exit);
        };
      });
      if (script.exitsWith !== undefined) {
        script.stderr?.forEach((line) => onLine('stderr', line));
        leader.exit?.({ code: script.exitsWith, signal: null });
      } else if (script.answers) {
        this.serving = leader.pid;
      }
      return Promise.resolve({ pid: leader.pid, exited: exitedPromise, hasExited: () => exited !== undefined });
    },
    signalGroup: (pgid: number, signal: NodeJS.Signals): boolean => {
      this.signals.push([pgid, signal]);
      const members = [...this.processes.values()].filter((p) => p.running && p.pgid === pgid);
      for (const member of members) {
        if (signal === 'SIGKILL' || !member.ignoresSigterm) {
          this.kill(member.pid, signal);
        }
      }
      return members.length > 0;
    },
    guardGroupAtExit: (pgid: number): (() => void) => {
      this.guards.add(pgid);
      return () => this.guards.delete(pgid);
    },
    stat: (pid: number): ProcessStat | undefined => {
      const p = this.processes.get(pid);
      return p && { pid, ppid: p.ppid, pgid: p.pgid, state: p.running ? 'S' : 'Z' };
    },
    isRunning: (pid: number): boolean => this.processes.get(pid)?.running ?? false,
    cmdline: (pid: number): string[] | undefined => this.processes.get(pid)?.argv,
    executable: (pid: number): string | undefined => this.processes.get(pid)?.exe,
    groupMembers: (pgid: number): number[] =>
      [...this.processes.values()].filter((p) => p.running && p.pgid === pgid).map((p) => p.pid),
  };

  readonly probe = {
    identify: (): Promise<ProbeResult> => Promise.resolve(this.serving !== undefined ? OLLAMA : this.portAnswer),
    version: (): Promise<VersionResult> => {
      const answer = this.serving !== undefined ? OLLAMA : this.portAnswer;
      return Promise.resolve(
        answer.kind === 'ollama' ? { ok: true, version: answer.version } : { ok: false, detail: 'connection refused' },
      );
    },
  };

  add(fields: Partial<FakeProcess> & { argv: string[] }): FakeProcess {
    const pid = fields.pid ?? this.nextPid++;
    const proc: FakeProcess = {
      pid,
      ppid: process.pid,
      pgid: pid,
      exe: '/usr/local/bin/ollama',
      running: true,
      ...fields,
    };
    this.processes.set(pid, proc);
    return proc;
  }

  kill(pid: number, signal: NodeJS.Signals): void {
    const proc = this.processes.get(pid);
    if (!proc?.running) {
      return;
    }
    if (proc.exit) {
      proc.exit(signal === 'SIGTERM' ? { code: 0, signal: null } : { code: null, signal });
    } else {
      proc.running = false;
    }
  }

  running(pid: number): boolean {
    return this.processes.get(pid)?.running ?? false;
  }
}

export class FakePidFile {
  pid?: number;
  constructor(readonly path: string) {}
  read(): number | undefined {
    return this.pid;
  }
  write(pid: number): void {
    this.pid = pid;
  }
  remove(): void {
    this.pid = undefined;
  }
}

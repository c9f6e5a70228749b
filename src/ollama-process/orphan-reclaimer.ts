import { Logger } from '@nestjs/common';
import { isOllamaGroupMember, isServeCommand } from './ollama-command-line';
import type { PidFile } from './pid-file';
import type { ProcessGroupTerminator } from './process-group-terminator';
import type { ProcessRunner } from './process-runner';

/** What the pid file says an earlier run left behind, checked against `/proc`. */
export type RecordedServer =
  | { kind: 'none' }
  /** Its `ollama serve`, still running, orphaned: adopted when it serves our URL, else stopped. */
  | { kind: 'serve'; pid: number }
  /** Its `ollama serve`, still the child of a running instance of this service: not ours to touch. */
  | { kind: 'managed-elsewhere'; pid: number; managerPid: number }
  /** Its server died but processes of its group (runners) live on: stopped. */
  | { kind: 'leftovers'; pgid: number; members: number[] }
  /** Its group holds processes that do not look like Ollama's: left alone. */
  | { kind: 'strangers'; pgid: number; members: number[] }
  /** Nothing of it is left, or the pid now belongs to an unrelated process. */
  | { kind: 'stale'; pid: number };

/** What the forensics read of the process table. */
export type ProcessTable = Pick<ProcessRunner, 'stat' | 'isRunning' | 'cmdline' | 'executable' | 'groupMembers'>;

export interface OrphanReclaimerSettings {
  /** `OLLAMA_BIN`, to recognise its `serve` and its runners by their command lines. */
  readonly bin: string;
  /** The URL this Ollama is meant to serve, for the log. */
  readonly url: string;
}

/** This process, to tell its own children and its sibling instances from orphans. */
export interface Self {
  readonly pid: number;
  readonly execPath: string;
}

/**
 * After a crash of this service (CONTRACT §4), finds what the earlier run's pid file points at and
 * clears away what must not stay: an orphaned `ollama serve` that does not serve our URL, runners left
 * in its process group. Only the recorded process group is ever signalled, and only when every process
 * in it looks like Ollama's; a recycled pid or a group of strangers is left alone.
 */
export class OrphanReclaimer {
  constructor(
    private readonly processes: ProcessTable,
    private readonly pidFile: Pick<PidFile, 'path' | 'read' | 'remove'>,
    private readonly terminator: Pick<ProcessGroupTerminator, 'terminate'>,
    private readonly settings: OrphanReclaimerSettings,
    private readonly logger: Logger = new Logger(OrphanReclaimer.name),
    private readonly self: Self = { pid: process.pid, execPath: process.execPath },
  ) {}

  /** Reads the pid file and classifies what it names; signals nothing and changes nothing. */
  inspect(): RecordedServer {
    const pid = this.pidFile.read();
    if (pid === undefined) {
      return { kind: 'none' };
    }
    const stat = this.processes.stat(pid);
    const running = this.processes.isRunning(pid);
    if (running && stat?.pgid === pid && isServeCommand(this.processes.cmdline(pid), this.settings.bin)) {
      const managerPid = this.liveManagerOf(stat.ppid);
      return managerPid === undefined ? { kind: 'serve', pid } : { kind: 'managed-elsewhere', pid, managerPid };
    }
    if (running) {
      return { kind: 'stale', pid };
    }
    const members = this.processes.groupMembers(pid);
    if (members.length === 0) {
      return { kind: 'stale', pid };
    }
    const allOllama = members.every((member) => isOllamaGroupMember(this.processes.cmdline(member), this.settings.bin));
    return allOllama ? { kind: 'leftovers', pgid: pid, members } : { kind: 'strangers', pgid: pid, members };
  }

  /**
   * Stops what `recorded` (from {@link inspect}, and not adopted) says an earlier run left running, and
   * removes the pid file, except when nothing was recorded or another running instance of this service
   * still manages the server it names.
   */
  async reclaim(recorded: RecordedServer): Promise<void> {
    switch (recorded.kind) {
      case 'none':
      case 'managed-elsewhere':
        return;
      case 'serve':
        this.logger.warn(
          `the Ollama (pid ${recorded.pid}) an earlier run of this service started does not serve ` +
            `${this.settings.url}; stopping its process group`,
        );
        await this.terminator.terminate(recorded.pid, () => !this.processes.isRunning(recorded.pid));
        break;
      case 'leftovers':
        this.logger.warn(
          `stopping processes ${recorded.members.join(', ')} left in the process group of the Ollama (pid ${recorded.pgid}) ` +
            'an earlier run of this service started',
        );
        await this.terminator.terminate(recorded.pgid, () => this.processes.groupMembers(recorded.pgid).length === 0);
        break;
      case 'strangers':
        this.logger.warn(
          `process group ${recorded.pgid} named in ${this.pidFile.path} now holds processes that are not Ollama's ` +
            `(${recorded.members.join(', ')}); leaving them alone`,
        );
        break;
      case 'stale':
        this.logger.debug(`removing the stale pid file ${this.pidFile.path} (pid ${recorded.pid})`);
        break;
    }
    this.pidFile.remove();
  }

  /**
   * The pid of the process that still supervises a recorded server, when that parent is another instance
   * of this service (same executable as ours). After a crash the server's parent is init or a subreaper.
   */
  private liveManagerOf(ppid: number): number | undefined {
    if (ppid <= 1 || ppid === this.self.pid) {
      return undefined;
    }
    return this.processes.executable(ppid) === this.self.execPath ? ppid : undefined;
  }
}

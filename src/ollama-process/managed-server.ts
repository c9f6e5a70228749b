import { Logger } from '@nestjs/common';
import { errorText } from '../common/errors';
import type { PidFile } from './pid-file';
import type { ProcessGroupTerminator } from './process-group-terminator';
import type { ProcessRunner, SpawnedProcess } from './process-runner';

interface Held {
  readonly pid: number;
  readonly ownership: 'owned' | 'adopted';
  /** Present when this run started it. */
  readonly child?: SpawnedProcess;
  /** Removes the kill-at-exit guard. */
  readonly unguard: () => void;
}

/**
 * The one server a supervisor is responsible for stopping, if any: `owned` (this run started it) or
 * `adopted` (an earlier run did). While held, its process group is guarded against this process exiting
 * without a shutdown, and an owned one's pid is in the pid file for the next run to find.
 */
export class ManagedServer {
  private held?: Held;

  constructor(
    private readonly runner: Pick<ProcessRunner, 'guardGroupAtExit' | 'isRunning'>,
    private readonly pidFile: Pick<PidFile, 'path' | 'write' | 'remove'>,
    private readonly terminator: Pick<ProcessGroupTerminator, 'terminate'>,
    private readonly logger: Logger = new Logger(ManagedServer.name),
  ) {}

  /** Its pid, which is also its process group id; undefined while none is held. */
  get pid(): number | undefined {
    return this.held?.pid;
  }

  get ownership(): 'owned' | 'adopted' | undefined {
    return this.held?.ownership;
  }

  /** True when `child` is the server held now (not one released before). */
  holds(child: SpawnedProcess): boolean {
    return this.held?.child === child;
  }

  /** True when the held server is an adopted one that no longer runs (it is not our child: no exit event). */
  adoptedOneExited(): boolean {
    return this.held?.ownership === 'adopted' && !this.runner.isRunning(this.held.pid);
  }

  /** Takes responsibility for the `ollama serve` an earlier run started and recorded. */
  adopt(pid: number): void {
    this.held = { pid, ownership: 'adopted', unguard: this.guard(pid) };
  }

  /** Takes responsibility for a server this run started, and records its pid. */
  own(child: SpawnedProcess): void {
    this.held = { pid: child.pid, ownership: 'owned', child, unguard: this.guard(child.pid) };
    try {
      this.pidFile.write(child.pid);
    } catch (error) {
      this.logger.warn(
        `cannot write the pid file ${this.pidFile.path} (${errorText(error)}); if this service crashes, ` +
          `the next run cannot find Ollama (pid ${child.pid})`,
      );
    }
  }

  /**
   * Ends the held server's process group (if anything of it is left: SIGTERM, then SIGKILL after the
   * grace period), its guard and the pid file. Nothing happens when none is held, so it is safe to call
   * again.
   */
  async release(): Promise<void> {
    const held = this.held;
    if (held === undefined) {
      return;
    }
    // Cleared first, so that the exit this causes is not taken for a crash.
    this.held = undefined;
    await this.terminator.terminate(held.pid, () =>
      held.child ? held.child.hasExited() : !this.runner.isRunning(held.pid),
    );
    held.unguard();
    this.pidFile.remove();
  }

  private guard(pgid: number): () => void {
    return this.runner.guardGroupAtExit(pgid, () => this.pidFile.remove());
  }
}

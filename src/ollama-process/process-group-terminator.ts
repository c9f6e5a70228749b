import { Logger } from '@nestjs/common';
import { sleep } from '../common/abortable-sleep';
import type { ProcessRunner } from './process-runner';
import { seconds } from './seconds';

/** How long to wait for a process group to vanish after SIGKILL. */
export const KILL_WAIT_MS = 5_000;
const GROUP_POLL_INTERVAL_MS = 100;

/** What termination needs of the process runner. */
export type GroupSignals = Pick<ProcessRunner, 'signalGroup' | 'groupMembers'>;

/**
 * Ends a process group the way `ollama serve` needs (reference §7.4): SIGTERM first, so that it unloads
 * its models and stops its runners; SIGKILL to the whole group once the grace period is over, and also
 * for any runner that outlives its server, since runners share the server's group and nothing else
 * would ever stop them.
 */
export class ProcessGroupTerminator {
  private readonly ending = new Map<number, Promise<void>>();

  /**
   * @param graceMs how long the group's leader gets to exit after SIGTERM (`OLLAMA_STOP_TIMEOUT`).
   */
  constructor(
    private readonly runner: GroupSignals,
    private readonly graceMs: number,
    private readonly logger: Logger = new Logger(ProcessGroupTerminator.name),
  ) {}

  /**
   * SIGTERM to group `pgid` unless `leaderGone()` already holds, then up to the grace period for it to
   * hold; then SIGKILL to whatever of the group still runs, and up to 5 s for it to vanish (an error is
   * logged when something survives). Idempotent: a call while the same group is being ended shares that
   * work, and a call for a group with nothing left sends no signal.
   * @throws when a signal cannot be delivered for another reason than the group being gone (`EPERM`).
   */
  terminate(pgid: number, leaderGone: () => boolean): Promise<void> {
    let ending = this.ending.get(pgid);
    if (ending === undefined) {
      ending = this.end(pgid, leaderGone).finally(() => this.ending.delete(pgid));
      this.ending.set(pgid, ending);
    }
    return ending;
  }

  private async end(pgid: number, leaderGone: () => boolean): Promise<void> {
    if (!leaderGone()) {
      this.runner.signalGroup(pgid, 'SIGTERM');
      if (!(await waitFor(leaderGone, this.graceMs))) {
        this.logger.warn(
          `Ollama (pid ${pgid}) did not stop within ${seconds(this.graceMs)} s of SIGTERM; sending SIGKILL`,
        );
      }
    }
    if (this.runner.groupMembers(pgid).length > 0) {
      this.runner.signalGroup(pgid, 'SIGKILL');
      if (!(await waitFor(() => this.runner.groupMembers(pgid).length === 0, KILL_WAIT_MS))) {
        this.logger.error(`processes of group ${pgid} survived SIGKILL: ${this.runner.groupMembers(pgid).join(', ')}`);
      }
    }
  }
}

/** Polls `condition` until it holds (true) or `timeoutMs` passes (false). */
async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) {
      return false;
    }
    await sleep(GROUP_POLL_INTERVAL_MS);
  }
  return true;
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { sleep } from '../common/abortable-sleep';
import { Backoff } from '../common/backoff';
import { errorText } from '../common/errors';
import { ollamaConfig, OllamaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { isOllamaGroupMember, isServeCommand } from './ollama-command-line';
import { OllamaEndpoint, OllamaOwnership } from './ollama-endpoint';
import { isLocalHost, ollamaHostFor, portOf } from './ollama-host';
import { OllamaOutput } from './ollama-output';
import { OllamaProbe } from './ollama-probe';
import { PidFile } from './pid-file';
import { ProcessExit, ProcessRunner, SpawnedProcess } from './process-runner';

export type OllamaState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped';

/** What `/health/ollama` reports; a snapshot, cheap to take. */
export interface OllamaStatus {
  state: OllamaState;
  /** True while the server answers `GET /api/version`. */
  reachable: boolean;
  version?: string;
  /** Who controls the server that answers; absent while none does. */
  ownership?: OllamaOwnership;
  /** The pid (and process group id) of an owned or adopted server. */
  pid?: number;
  /** Times a server this service controlled was replaced after it exited or hung. */
  restarts: number;
  /** What went wrong last, in words an operator can act on; cleared once the server answers. */
  lastError?: string;
  url: string;
}

/** While running, how often `/api/version` is asked. */
export const MONITOR_INTERVAL_MS = 3_000;
/** While a started server has not answered yet, how often it is asked. */
const STARTUP_POLL_INTERVAL_MS = 250;
/** A server that answered this long resets the backoff when it fails next. */
export const STABLE_UPTIME_MS = 60_000;
/** Failed polls in a row after which a running server counts as down. */
export const FAILED_POLLS_BEFORE_DOWN = 2;
/** Failed polls in a row after which a hung owned or adopted server is stopped and started again. */
export const FAILED_POLLS_BEFORE_RESTART = 10;
/** Restarts and retries: 1 s doubling to 30 s, without jitter (CONTRACT §4). */
const RESTART_BACKOFF = { initialMs: 1_000, maxMs: 30_000, jitter: false };
/** How long to wait for a process group to vanish after SIGKILL. */
const KILL_WAIT_MS = 5_000;
const GROUP_POLL_INTERVAL_MS = 100;

/** The server whose process group this service stops at shutdown. */
interface Managed {
  readonly pid: number;
  readonly ownership: 'owned' | 'adopted';
  /** Present when this run started it. */
  readonly child?: SpawnedProcess;
  /** Removes the kill-at-exit guard. */
  readonly unguard: () => void;
}

/** What the pid file says an earlier run left behind. */
type Recorded =
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

type StartOutcome =
  { kind: 'up'; version: string } | { kind: 'exited'; exit: ProcessExit } | { kind: 'timeout' } | { kind: 'aborted' };

/**
 * Finds, starts, supervises and stops the Ollama server at `OLLAMA_URL` (CONTRACT §4):
 * - something already answers as Ollama → `external` (used, never signalled), or `adopted` when the
 *   pid file shows an earlier run of this service started it (stopped at shutdown like an owned one);
 * - nothing answers, the URL is local and `OLLAMA_AUTO_START` is on → spawns `$OLLAMA_BIN serve` in
 *   its own process group (`owned`), restarts it with backoff when it exits;
 * - failures (port held by another program, missing binary, slow start) are reported in `status()`
 *   and retried with backoff (1 s doubling to 30 s); the application runs on regardless.
 */
@Injectable()
export class OllamaSupervisor extends OllamaEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly baseUrl: string;

  private readonly logger = new Logger(OllamaSupervisor.name);
  private readonly output = new OllamaOutput();
  private readonly backoff = new Backoff(RESTART_BACKOFF);
  private readonly lifetime = new AbortController();
  private readonly listeners = new Set<(up: boolean) => void>();
  private readonly upWaiters = new Set<() => void>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly url: URL;
  private readonly mayStart: boolean;

  private state: OllamaState = 'starting';
  private reachable = false;
  private version?: string;
  private ownership?: OllamaOwnership;
  private lastError?: string;
  private restarts = 0;
  private managed?: Managed;
  /** The next server this run starts replaces one that exited or hung: it counts as a restart. */
  private replacing = false;
  private upSince?: number;
  private failedPolls = 0;
  private timer?: NodeJS.Timeout;
  /** Bumped whenever the next step is rescheduled, so that a step overtaken while it waited does nothing more. */
  private turn = 0;
  private started = false;
  private stopRequested = false;
  private stopped?: Promise<void>;

  constructor(
    @Inject(ollamaConfig.KEY) private readonly config: OllamaConfig,
    private readonly runner: ProcessRunner,
    private readonly probe: OllamaProbe,
    private readonly pidFile: PidFile,
    private readonly metrics: MetricsService,
  ) {
    super();
    this.baseUrl = config.url;
    this.url = new URL(config.url);
    this.mayStart = config.autoStart && this.url.protocol === 'http:' && isLocalHost(this.url.hostname);
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Begins finding or starting the server in the background; returns at once and never throws. */
  start(): void {
    if (this.started || this.stopRequested) {
      return;
    }
    this.started = true;
    this.schedule((turn) => this.establish(turn), 0);
  }

  /**
   * Stops supervising. An owned or adopted server's process group gets SIGTERM, then SIGKILL after
   * `OLLAMA_STOP_TIMEOUT` (and SIGKILL again for any of its processes that outlive the server), and the
   * pid file is removed. An external server is never signalled. Safe to call more than once; every
   * call resolves when the first one has finished. Never throws.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  status(): OllamaStatus {
    return {
      state: this.state,
      reachable: this.reachable,
      version: this.version,
      ownership: this.ownership,
      pid: this.managed?.pid,
      restarts: this.restarts,
      lastError: this.lastError,
      url: this.baseUrl,
    };
  }

  isUp(): boolean {
    return this.reachable;
  }

  whenUp(signal?: AbortSignal): Promise<void> {
    if (this.reachable) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        this.upWaiters.delete(waiter);
        reject(abortReason(signal));
      };
      const waiter = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.upWaiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** One attempt at having a server: use or adopt the one that answers, else start one, else report why not. */
  private async establish(turn: number): Promise<void> {
    const found = await this.probe.identify(this.lifetime.signal);
    if (!this.isCurrent(turn)) {
      return;
    }
    const recorded = this.inspectRecorded();
    if (found.kind === 'ollama' && recorded.kind === 'serve') {
      this.adopt(recorded.pid, found.version);
      return;
    }
    await this.reclaim(recorded);
    if (!this.isCurrent(turn)) {
      return;
    }
    switch (found.kind) {
      case 'ollama':
        this.becomeRunning('external', found.version);
        return;
      case 'foreign':
        this.logger.warn(`${this.baseUrl} is not Ollama: ${found.detail}`);
        this.retry(
          this.mayStart
            ? `port ${portOf(this.url)} is held by a process that is not Ollama; stop it or set OLLAMA_URL to another port`
            : `${this.baseUrl} answers, but not as Ollama does (${found.detail}); check OLLAMA_URL`,
        );
        return;
      case 'silent':
        this.retry(`the server at ${this.baseUrl} ${found.detail}; check that process or set OLLAMA_URL`);
        return;
      case 'unreachable':
        if (recorded.kind === 'managed-elsewhere') {
          this.retry(
            `the Ollama (pid ${recorded.pid}) in ${this.pidFile.path} is managed by another running instance of ` +
              `this service (pid ${recorded.managerPid}) and does not answer at ${this.baseUrl} yet`,
          );
        } else if (this.mayStart) {
          await this.spawnOwned();
        } else {
          this.retry(`Ollama is not reachable at ${this.baseUrl}; start it or set OLLAMA_URL`);
        }
        return;
    }
  }

  private adopt(pid: number, version: string): void {
    this.managed = { pid, ownership: 'adopted', unguard: this.guardAtExit(pid) };
    this.logger.log(
      `adopting Ollama (pid ${pid}), which an earlier run of this service started; it is stopped at shutdown`,
    );
    this.becomeRunning('adopted', version);
  }

  private async spawnOwned(): Promise<void> {
    const { bin, startupTimeoutMs } = this.config;
    const host = ollamaHostFor(this.url);
    this.state = this.replacing ? 'restarting' : 'starting';
    this.output.reset();
    let child: SpawnedProcess;
    try {
      child = await this.runner.spawnGroupLeader(
        bin,
        ['serve'],
        { ...process.env, OLLAMA_HOST: host, OLLAMA_KEEP_ALIVE: String(this.config.keepAlive.apiValue) },
        (stream, line) => this.output.write(stream, line),
      );
    } catch (error) {
      this.retry(spawnFailure(bin, error));
      return;
    }
    this.managed = { pid: child.pid, ownership: 'owned', child, unguard: this.guardAtExit(child.pid) };
    this.recordPid(child.pid);
    if (this.replacing) {
      this.replacing = false;
      this.restarts += 1;
      this.metrics.ollamaProcessRestarts.inc();
    }
    this.logger.log(
      `started '${bin} serve' (pid ${child.pid}) with OLLAMA_HOST=${host}; waiting up to ${seconds(startupTimeoutMs)} s for it to answer`,
    );

    const outcome = await this.waitForFirstAnswer(child);
    if (this.stopRequested) {
      return;
    }
    switch (outcome.kind) {
      case 'up':
        void child.exited.then((exit) => this.track(this.onOwnedExit(child, exit)));
        this.becomeRunning('owned', outcome.version);
        return;
      case 'exited':
        await this.release();
        this.retry(`ollama serve exited with ${describeExit(outcome.exit)}${this.stderrSuffix()}`);
        return;
      case 'timeout':
        await this.release();
        this.retry(`ollama serve did not answer within ${seconds(startupTimeoutMs)} s`);
        return;
      case 'aborted':
        return;
    }
  }

  private async waitForFirstAnswer(child: SpawnedProcess): Promise<StartOutcome> {
    const deadline = Date.now() + this.config.startupTimeoutMs;
    const signal = this.lifetime.signal;
    for (;;) {
      if (child.hasExited()) {
        return { kind: 'exited', exit: await child.exited };
      }
      if (signal.aborted) {
        return { kind: 'aborted' };
      }
      const answer = await this.probe.version(signal);
      // Answered by another server that won the port while ours failed to bind: not ours.
      if (answer.ok && !child.hasExited()) {
        return { kind: 'up', version: answer.version };
      }
      if (Date.now() >= deadline) {
        return { kind: 'timeout' };
      }
      await Promise.race([sleep(STARTUP_POLL_INTERVAL_MS, signal).catch(() => undefined), child.exited]);
    }
  }

  private async onOwnedExit(child: SpawnedProcess, exit: ProcessExit): Promise<void> {
    if (this.stopRequested || this.managed?.child !== child) {
      return;
    }
    await this.lose(
      `ollama serve (pid ${child.pid}) exited unexpectedly with ${describeExit(exit)}${this.stderrSuffix()}`,
    );
  }

  /** One poll of a running server; an adopted one is also checked for being alive, as it is not our child. */
  private async monitor(turn: number): Promise<void> {
    const managed = this.managed;
    if (managed?.ownership === 'adopted' && !this.runner.isRunning(managed.pid)) {
      await this.lose(`the adopted Ollama (pid ${managed.pid}) exited`);
      return;
    }
    const answer = await this.probe.version(this.lifetime.signal);
    if (!this.isCurrent(turn)) {
      return;
    }
    if (answer.ok) {
      this.failedPolls = 0;
      this.version = answer.version;
      if (!this.reachable) {
        this.logger.log(`Ollama at ${this.baseUrl} answers again`);
        this.lastError = undefined;
        this.setReachable(true);
      }
    } else {
      this.failedPolls += 1;
      const problem = `Ollama at ${this.baseUrl} stopped answering: ${answer.detail}`;
      if (managed === undefined && this.failedPolls >= FAILED_POLLS_BEFORE_DOWN) {
        // Someone else's server went away: decide anew (it may come back, or this service may start one).
        this.retry(problem);
        return;
      }
      if (managed !== undefined && this.failedPolls >= FAILED_POLLS_BEFORE_RESTART) {
        await this.lose(`${problem}; restarting it`);
        return;
      }
      if (this.failedPolls >= FAILED_POLLS_BEFORE_DOWN && this.reachable) {
        this.logger.warn(problem);
        this.lastError = problem;
        this.setReachable(false);
      }
    }
    this.schedule((next) => this.monitor(next), MONITOR_INTERVAL_MS);
  }

  /** The owned or adopted server exited or hung: clear away what is left of its group and start anew. */
  private async lose(problem: string): Promise<void> {
    this.cancelSchedule();
    this.state = 'restarting';
    this.ownership = undefined;
    this.version = undefined;
    this.lastError = problem;
    this.setReachable(false);
    this.replacing = true;
    await this.release();
    this.retry(problem, 'restarting');
  }

  /** Ends the owned or adopted server's process group (if anything of it is left) and its record. */
  private async release(): Promise<void> {
    const managed = this.managed;
    if (managed === undefined) {
      return;
    }
    // Cleared first, so that the exit this causes is not taken for a crash.
    this.managed = undefined;
    await this.terminateGroup(managed.pid, () =>
      managed.child ? managed.child.hasExited() : !this.runner.isRunning(managed.pid),
    );
    managed.unguard();
    this.pidFile.remove();
  }

  /**
   * SIGTERM to the group unless `leaderGone`, up to `OLLAMA_STOP_TIMEOUT` for it to go, then SIGKILL to
   * whatever of the group is still running (runners outlive a server that died), and a bounded wait.
   */
  private async terminateGroup(pgid: number, leaderGone: () => boolean): Promise<void> {
    const graceMs = this.config.stopTimeoutMs;
    if (!leaderGone()) {
      this.runner.signalGroup(pgid, 'SIGTERM');
      if (!(await waitFor(leaderGone, graceMs))) {
        this.logger.warn(`Ollama (pid ${pgid}) did not stop within ${seconds(graceMs)} s of SIGTERM; sending SIGKILL`);
      }
    }
    const left = this.runner.groupMembers(pgid);
    if (left.length > 0) {
      this.runner.signalGroup(pgid, 'SIGKILL');
      if (!(await waitFor(() => this.runner.groupMembers(pgid).length === 0, KILL_WAIT_MS))) {
        this.logger.error(`processes of group ${pgid} survived SIGKILL: ${this.runner.groupMembers(pgid).join(', ')}`);
      }
    }
  }

  private inspectRecorded(): Recorded {
    const pid = this.pidFile.read();
    if (pid === undefined) {
      return { kind: 'none' };
    }
    const stat = this.runner.stat(pid);
    const running = this.runner.isRunning(pid);
    if (running && stat?.pgid === pid && isServeCommand(this.runner.cmdline(pid), this.config.bin)) {
      const managerPid = this.liveManagerOf(stat.ppid);
      return managerPid === undefined ? { kind: 'serve', pid } : { kind: 'managed-elsewhere', pid, managerPid };
    }
    if (running) {
      return { kind: 'stale', pid };
    }
    const members = this.runner.groupMembers(pid);
    if (members.length === 0) {
      return { kind: 'stale', pid };
    }
    const allOllama = members.every((member) => isOllamaGroupMember(this.runner.cmdline(member), this.config.bin));
    return allOllama ? { kind: 'leftovers', pgid: pid, members } : { kind: 'strangers', pgid: pid, members };
  }

  /**
   * The pid of the process that still supervises a recorded server, when that parent is another instance
   * of this service (same executable as ours). After a crash the server's parent is init or a subreaper.
   */
  private liveManagerOf(ppid: number): number | undefined {
    if (ppid <= 1 || ppid === process.pid) {
      return undefined;
    }
    return this.runner.executable(ppid) === process.execPath ? ppid : undefined;
  }

  private async reclaim(recorded: Recorded): Promise<void> {
    switch (recorded.kind) {
      case 'none':
      case 'managed-elsewhere':
        return;
      case 'serve':
        this.logger.warn(
          `the Ollama (pid ${recorded.pid}) an earlier run of this service started does not serve ${this.baseUrl}; stopping its process group`,
        );
        await this.terminateGroup(recorded.pid, () => !this.runner.isRunning(recorded.pid));
        break;
      case 'leftovers':
        this.logger.warn(
          `stopping processes ${recorded.members.join(', ')} left in the process group of the Ollama (pid ${recorded.pgid}) ` +
            'an earlier run of this service started',
        );
        await this.terminateGroup(recorded.pgid, () => this.runner.groupMembers(recorded.pgid).length === 0);
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

  private becomeRunning(ownership: OllamaOwnership, version: string): void {
    if (this.stopRequested) {
      return;
    }
    this.state = 'running';
    this.ownership = ownership;
    this.version = version;
    this.lastError = undefined;
    this.upSince = Date.now();
    this.failedPolls = 0;
    const pid = this.managed ? `, pid ${this.managed.pid}` : '';
    this.logger.log(`Ollama ${version} is up at ${this.baseUrl} (${ownership}${pid})`);
    this.setReachable(true);
    this.schedule((turn) => this.monitor(turn), MONITOR_INTERVAL_MS);
  }

  /** Reports `problem` and tries again after the next backoff delay. */
  private retry(problem: string, state: 'failed' | 'restarting' = 'failed'): void {
    if (this.stopRequested) {
      return;
    }
    this.state = state;
    this.ownership = undefined;
    this.version = undefined;
    this.lastError = problem;
    this.setReachable(false);
    if (this.upSince !== undefined && Date.now() - this.upSince >= STABLE_UPTIME_MS) {
      this.backoff.reset();
    }
    this.upSince = undefined;
    const delayMs = this.backoff.next();
    this.logger.error(`${problem}; retrying in ${seconds(delayMs)} s`);
    this.schedule((turn) => this.establish(turn), delayMs);
  }

  private async shutdown(): Promise<void> {
    this.stopRequested = true;
    this.state = 'stopping';
    this.cancelSchedule();
    this.lifetime.abort();
    await Promise.all([...this.inFlight]);
    const managed = this.managed;
    if (managed !== undefined) {
      this.logger.log(
        `stopping the ${managed.ownership} Ollama (pid ${managed.pid}): SIGTERM to its process group, ` +
          `SIGKILL after ${seconds(this.config.stopTimeoutMs)} s`,
      );
      await this.release();
      this.logger.log(`Ollama (pid ${managed.pid}) stopped`);
    }
    this.reachable = false;
    this.metrics.ollamaUp.set(0);
    this.listeners.clear();
    this.state = 'stopped';
  }

  private setReachable(up: boolean): void {
    if (this.reachable === up) {
      return;
    }
    this.reachable = up;
    this.metrics.ollamaUp.set(up ? 1 : 0);
    if (up) {
      const waiters = [...this.upWaiters];
      this.upWaiters.clear();
      waiters.forEach((wake) => wake());
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(up);
      } catch (error) {
        this.logger.error(`an Ollama up/down listener failed: ${errorText(error)}`);
      }
    }
  }

  private recordPid(pid: number): void {
    try {
      this.pidFile.write(pid);
    } catch (error) {
      this.logger.warn(
        `cannot write the pid file ${this.pidFile.path} (${errorText(error)}); if this service crashes, ` +
          `the next run cannot find Ollama (pid ${pid})`,
      );
    }
  }

  private guardAtExit(pgid: number): () => void {
    return this.runner.guardGroupAtExit(pgid, () => this.pidFile.remove());
  }

  private stderrSuffix(): string {
    const tail = this.output.stderrTail();
    return tail === '' ? '' : `: ${tail}`;
  }

  private schedule(step: (turn: number) => Promise<void>, delayMs: number): void {
    if (this.stopRequested) {
      return;
    }
    clearTimeout(this.timer);
    const turn = ++this.turn;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.track(step(turn));
    }, delayMs);
  }

  private cancelSchedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.turn += 1;
  }

  private isCurrent(turn: number): boolean {
    return turn === this.turn && !this.stopRequested;
  }

  /** Keeps `work` for `stop()` to wait on; a step that throws is a bug, logged, and supervision goes on. */
  private track(work: Promise<void>): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => {
        this.logger.error(`Ollama supervision failed: ${errorText(error)}`, (error as Error)?.stack);
        if (this.managed === undefined) {
          this.retry(`Ollama supervision failed: ${errorText(error)}`);
        }
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}

function spawnFailure(bin: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const isPath = bin.includes('/');
  if (code === 'ENOENT') {
    return isPath
      ? `ollama binary '${bin}' not found; install Ollama or set OLLAMA_BIN`
      : `ollama binary '${bin}' not found on PATH; install Ollama or set OLLAMA_BIN`;
  }
  if (code === 'EACCES') {
    return `ollama binary '${bin}' is not executable; fix its permissions or set OLLAMA_BIN`;
  }
  return `cannot start '${bin} serve': ${errorText(error)}`;
}

function describeExit(exit: ProcessExit): string {
  return exit.code !== null ? `code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted');
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

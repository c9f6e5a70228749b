import { Logger } from '@nestjs/common';
import { Backoff } from '../common/backoff';
import { errorText } from '../common/errors';
import type { OllamaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { ManagedServer } from './managed-server';
import { OllamaEndpoint, OllamaOwnership } from './ollama-endpoint';
import { isLocalHost, portOf } from './ollama-host';
import { OllamaLauncher } from './ollama-launcher';
import { OllamaProbe } from './ollama-probe';
import { OllamaState, OllamaStatus } from './ollama-status';
import { OrphanReclaimer } from './orphan-reclaimer';
import { PidFile } from './pid-file';
import { ProcessGroupTerminator } from './process-group-terminator';
import { ProcessExit, ProcessRunner, SpawnedProcess } from './process-runner';
import { Reachability } from './reachability';
import { seconds } from './seconds';
import { StepScheduler } from './step-scheduler';
/** While running, how often `/api/version` is asked. */
export const MONITOR_INTERVAL_MS = 3_000;
/** A server that answered this long resets the backoff when it fails next. */
export const STABLE_UPTIME_MS = 60_000;
/** Failed polls in a row after which a running server counts as down. */
export const FAILED_POLLS_BEFORE_DOWN = 2;
/** Failed polls in a row after which a hung owned or adopted server is stopped and started again. */
export const FAILED_POLLS_BEFORE_RESTART = 10;
/** Restarts and retries: 1 s doubling to 30 s, without jitter (CONTRACT §4). */
const RESTART_BACKOFF = { initialMs: 1_000, maxMs: 30_000, jitter: false };

/**
 * Finds, starts, supervises and stops the Ollama server at one URL (`OLLAMA_URL`, CONTRACT §4):
 * - something already answers as Ollama → `external` (used, never signalled), or `adopted` when the
 *   pid file shows an earlier run of this service started it (stopped at shutdown like an owned one);
 * - nothing answers, the URL is local and `OLLAMA_AUTO_START` is on → spawns `$OLLAMA_BIN serve` in
 *   its own process group (`owned`), restarts it with backoff when it exits;
 * - failures (port held by another program, missing binary, slow start) are reported in `status()`
 *   and retried with backoff (1 s doubling to 30 s); the application runs on regardless.
 * The process work is done by its helpers: {@link OllamaLauncher}, {@link OrphanReclaimer},
 * {@link ProcessGroupTerminator}; this class decides.
 */
export class OllamaSupervisor extends OllamaEndpoint {
  readonly baseUrl: string;

  private readonly logger = new Logger(OllamaSupervisor.name);
  private readonly backoff = new Backoff(RESTART_BACKOFF);
  private readonly lifetime = new AbortController();
  private readonly scheduler = new StepScheduler((error) => this.onStepFailure(error));
  private readonly reachability: Reachability;
  private readonly launcher: OllamaLauncher;
  private readonly terminator: ProcessGroupTerminator;
  private readonly reclaimer: OrphanReclaimer;
  /** The owned or adopted server, whose process group this service stops at shutdown. */
  private readonly managed: ManagedServer;
  private readonly url: URL;
  private readonly mayStart: boolean;

  private state: OllamaState = 'starting';
  private version?: string;
  private ownership?: OllamaOwnership;
  private lastError?: string;
  private restarts = 0;
  /** The next server this run starts replaces one that exited or hung: it counts as a restart. */
  private replacing = false;
  private upSince?: number;
  private failedPolls = 0;
  private started = false;
  private stopRequested = false;
  private stopped?: Promise<void>;

  constructor(
    /** The settings, with `url` this server's (one of OLLAMA_URLS, or OLLAMA_URL). */
    private readonly config: OllamaConfig,
    runner: ProcessRunner,
    private readonly probe: OllamaProbe,
    private readonly pidFile: PidFile,
    private readonly metrics: MetricsService,
  ) {
    super();
    this.baseUrl = config.url;
    this.url = new URL(config.url);
    this.mayStart = config.autoStart && this.url.protocol === 'http:' && isLocalHost(this.url.hostname);
    this.reachability = new Reachability(
      (up) => metrics.ollamaUp.set({ backend: this.baseUrl }, up ? 1 : 0),
      this.logger,
    );
    this.launcher = new OllamaLauncher(runner, probe, { ...config, url: this.url });
    this.terminator = new ProcessGroupTerminator(runner, config.stopTimeoutMs, this.logger);
    this.reclaimer = new OrphanReclaimer(runner, pidFile, this.terminator, config, this.logger);
    this.managed = new ManagedServer(runner, pidFile, this.terminator, this.logger);
  }

  /** Begins finding or starting the server in the background; returns at once and never throws. */
  start(): void {
    if (this.started || this.stopRequested) {
      return;
    }
    this.started = true;
    this.scheduler.schedule((turn) => this.establish(turn), 0);
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
      reachable: this.reachability.isUp(),
      version: this.version,
      ownership: this.ownership,
      pid: this.managed.pid,
      restarts: this.restarts,
      lastError: this.lastError,
      url: this.baseUrl,
    };
  }

  isUp(): boolean {
    return this.reachability.isUp();
  }

  whenUp(signal?: AbortSignal): Promise<void> {
    return this.reachability.whenUp(signal);
  }

  onChange(listener: (up: boolean) => void): () => void {
    return this.reachability.onChange(listener);
  }

  /** One attempt at having a server: use or adopt the one that answers, else start one, else report why not. */
  private async establish(turn: number): Promise<void> {
    const found = await this.probe.identify(this.lifetime.signal);
    if (!this.scheduler.isCurrent(turn)) {
      return;
    }
    const recorded = this.reclaimer.inspect();
    if (found.kind === 'ollama' && recorded.kind === 'serve') {
      this.adopt(recorded.pid, found.version);
      return;
    }
    await this.reclaimer.reclaim(recorded);
    if (!this.scheduler.isCurrent(turn)) {
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
    this.managed.adopt(pid);
    this.logger.log(
      `adopting Ollama (pid ${pid}), which an earlier run of this service started; it is stopped at shutdown`,
    );
    this.becomeRunning('adopted', version);
  }

  private async spawnOwned(): Promise<void> {
    this.state = this.replacing ? 'restarting' : 'starting';
    let child: SpawnedProcess;
    try {
      child = await this.launcher.spawn();
    } catch (error) {
      this.retry(errorText(error));
      return;
    }
    this.managed.own(child);
    if (this.replacing) {
      this.replacing = false;
      this.restarts += 1;
      this.metrics.ollamaProcessRestarts.inc({ backend: this.baseUrl });
    }
    const { bin, startupTimeoutMs } = this.config;
    this.logger.log(
      `started '${bin} serve' (pid ${child.pid}) with OLLAMA_HOST=${this.launcher.host}; ` +
        `waiting up to ${seconds(startupTimeoutMs)} s for it to answer`,
    );

    const outcome = await this.launcher.waitForFirstAnswer(child, this.lifetime.signal);
    if (this.stopRequested) {
      return;
    }
    switch (outcome.kind) {
      case 'up':
        void child.exited.then((exit) => this.scheduler.track(this.onOwnedExit(child, exit)));
        this.becomeRunning('owned', outcome.version);
        return;
      case 'exited':
        await this.managed.release();
        this.retry(`ollama serve exited with ${this.launcher.describeExit(outcome.exit)}`);
        return;
      case 'timeout':
        await this.managed.release();
        this.retry(`ollama serve did not answer within ${seconds(startupTimeoutMs)} s`);
        return;
      case 'aborted':
        return;
    }
  }

  private async onOwnedExit(child: SpawnedProcess, exit: ProcessExit): Promise<void> {
    if (this.stopRequested || !this.managed.holds(child)) {
      return;
    }
    await this.lose(`ollama serve (pid ${child.pid}) exited unexpectedly with ${this.launcher.describeExit(exit)}`);
  }

  /** One poll of a running server; an adopted one is also checked for being alive, as it is not our child. */
  private async monitor(turn: number): Promise<void> {
    const managedPid = this.managed.pid;
    if (this.managed.adoptedOneExited()) {
      await this.lose(`the adopted Ollama (pid ${managedPid}) exited`);
      return;
    }
    const answer = await this.probe.version(this.lifetime.signal);
    if (!this.scheduler.isCurrent(turn)) {
      return;
    }
    if (answer.ok) {
      this.failedPolls = 0;
      this.version = answer.version;
      if (!this.reachability.isUp()) {
        this.logger.log(`Ollama at ${this.baseUrl} answers again`);
        this.lastError = undefined;
        this.reachability.set(true);
      }
    } else {
      this.failedPolls += 1;
      const problem = `Ollama at ${this.baseUrl} stopped answering: ${answer.detail}`;
      if (managedPid === undefined && this.failedPolls >= FAILED_POLLS_BEFORE_DOWN) {
        // Someone else's server went away: decide anew (it may come back, or this service may start one).
        this.retry(problem);
        return;
      }
      if (managedPid !== undefined && this.failedPolls >= FAILED_POLLS_BEFORE_RESTART) {
        await this.lose(`${problem}; restarting it`);
        return;
      }
      if (this.failedPolls >= FAILED_POLLS_BEFORE_DOWN && this.reachability.isUp()) {
        this.logger.warn(problem);
        this.lastError = problem;
        this.reachability.set(false);
      }
    }
    this.scheduler.schedule((next) => this.monitor(next), MONITOR_INTERVAL_MS);
  }

  /** The owned or adopted server exited or hung: clear away what is left of its group and start anew. */
  private async lose(problem: string): Promise<void> {
    this.scheduler.cancel();
    this.state = 'restarting';
    this.ownership = undefined;
    this.version = undefined;
    this.lastError = problem;
    this.reachability.set(false);
    this.replacing = true;
    await this.managed.release();
    this.retry(problem, 'restarting');
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
    const pid = this.managed.pid !== undefined ? `, pid ${this.managed.pid}` : '';
    this.logger.log(`Ollama ${version} is up at ${this.baseUrl} (${ownership}${pid})`);
    this.reachability.set(true);
    this.scheduler.schedule((turn) => this.monitor(turn), MONITOR_INTERVAL_MS);
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
    this.reachability.set(false);
    if (this.upSince !== undefined && Date.now() - this.upSince >= STABLE_UPTIME_MS) {
      this.backoff.reset();
    }
    this.upSince = undefined;
    const delayMs = this.backoff.next();
    this.logger.error(`${problem}; retrying in ${seconds(delayMs)} s`);
    this.scheduler.schedule((turn) => this.establish(turn), delayMs);
  }

  private async shutdown(): Promise<void> {
    this.stopRequested = true;
    this.state = 'stopping';
    this.scheduler.close();
    this.lifetime.abort();
    await this.scheduler.drain();
    const { pid, ownership } = this.managed;
    if (pid !== undefined) {
      this.logger.log(
        `stopping the ${ownership} Ollama (pid ${pid}): SIGTERM to its process group, ` +
          `SIGKILL after ${seconds(this.config.stopTimeoutMs)} s`,
      );
      await this.managed.release();
      this.logger.log(`Ollama (pid ${pid}) stopped`);
    }
    this.reachability.close();
    this.state = 'stopped';
  }

  /** A step threw, which is a bug: logged, and supervision goes on. */
  private onStepFailure(error: unknown): void {
    this.logger.error(`Ollama supervision failed: ${errorText(error)}`, (error as Error)?.stack);
    if (this.managed.pid === undefined) {
      this.retry(`Ollama supervision failed: ${errorText(error)}`);
    }
  }
}

import { Logger } from '@nestjs/common';
import type { KeepAlive } from '../../config/duration';
import type { OllamaEndpoint } from '../../ollama-process/ollama-endpoint';
import { Backoff } from '../../common/backoff';
import { LlmState, ModelCapability, ModelStatus, PullProgress } from '../llm.types';
import { OllamaPsModel, OllamaPsResponse } from '../ollama/ollama-api.types';
import { LoadKind, OllamaClient } from '../ollama/ollama-client';
import { isOllamaFailure } from '../ollama/ollama-client.errors';
import { isSameModel } from './model-name';
import { sleep } from '../../common/abortable-sleep';
import { deferred } from '../../common/deferred';
import { LinkedAbort } from '../../common/linked-abort';
import { keepWarm } from './keep-warm';
import { describeState, failureMessage, LifecycleStep } from './lifecycle-messages';
import { LifecycleProblem, pullModel } from './model-pull';

/** What every model lifecycle is told by the configuration. */
export interface LifecycleSettings {
  autoPull: boolean;
  /** OLLAMA_LOAD_TIMEOUT: a load may take this long, a pull may stall this long. */
  loadTimeoutMs: number;
  keepAlive: KeepAlive;
  keepWarm: boolean;
}

/** How long a `/api/tags`, `/api/show` or `/api/ps` check may take. */
const CHECK_TIMEOUT_MS = 10_000;
/** How long a check of `/api/ps` that lost its connection waits before it asks again. */
const VERIFY_RETRY_MS = 250;
/** A problem that retrying soon will not fix (a model the registry lacks) is retried this rarely. */
const PERMANENT_PROBLEM_RETRY_MS = 5 * 60_000;

/**
 * The lifecycle of one served model on one Ollama server: `starting → pulling → loading → ready`, and
 * `degraded` (with a reason) when Ollama or the model is lost, after which it repairs itself: it waits
 * for Ollama, pulls the model if it is missing (when OLLAMA_AUTO_PULL allows), reads its capabilities
 * (`/api/show`), loads it with an empty warm-up request (generate, or embed for an embedding model), and
 * with LLM_KEEP_WARM refreshes its residency before `keep_alive` runs out. Failures are retried with
 * backoff; nothing here ever rejects unhandled.
 */
export class ModelLifecycle {
  private readonly logger = new Logger(ModelLifecycle.name);
  private readonly backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
  private readonly stopping = new AbortController();
  private state: LlmState = 'starting';
  private reason?: string;
  private pull?: PullProgress;
  private capabilities: ModelCapability[] = [];
  private readyListeners: Array<() => void> = [];
  private resident = false;
  private lastUseAt = 0;
  private callsInFlight = 0;
  private cycle?: AbortController;
  /** What the lifecycle was doing, so that a failure can be told in those terms. */
  private step: LifecycleStep = 'checking';
  /** True while the loop waits out a backoff, which Ollama coming back should cut short. */
  private backingOff = false;
  private running?: Promise<void>;
  private unsubscribe?: () => void;
  private readonly firstReady = deferred();
  private verifying?: Promise<void>;

  constructor(
    /** The model's name as configured. */
    readonly model: string,
    private readonly client: OllamaClient,
    private readonly endpoint: OllamaEndpoint,
    private readonly settings: LifecycleSettings,
  ) {}

  /** What the model can do, from `/api/show`; empty until Ollama was asked. */
  get capabilityList(): readonly ModelCapability[] {
    return this.capabilities;
  }

  /** True while a request to this model would not pay its load time. */
  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** Calls `listener` each time the model becomes ready (after start-up, a reload, or Ollama's return). */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  /** Starts the lifecycle in the background; calling it again does nothing. */
  start(): void {
    if (this.running !== undefined || this.stopping.signal.aborted) {
      return;
    }
    this.unsubscribe = this.endpoint.onChange((up) => this.onEndpointChange(up));
    this.running = this.run();
  }

  /** Resolves when the model is ready for the first time; rejects if the lifecycle is stopped before. */
  whenReady(): Promise<void> {
    return this.firstReady.promise;
  }

  status(): ModelStatus {
    return {
      state: this.state,
      ...(this.reason !== undefined && { reason: this.reason }),
      ...(this.state === 'pulling' && this.pull !== undefined && { pull: { ...this.pull } }),
      warm: this.isWarm(),
      capabilities: [...this.capabilities],
    };
  }

  /** What the state means, in words an operator can act on. */
  describe(): string {
    return describeState(this.state, {
      model: this.model,
      baseUrl: this.endpoint.baseUrl,
      ollamaUp: this.endpoint.isUp(),
      percent: this.pull?.percent ?? 0,
      reason: this.reason,
    });
  }

  /** Ollama answered 404 for the model: it was deleted or Ollama lost it. Warms it up again (pulls if needed). */
  reportModelMissing(): void {
    if (this.state !== 'ready') {
      return;
    }
    this.logger.warn(`model ${this.model} is missing in Ollama; bringing it back`);
    this.resident = false;
    this.setState('loading');
    this.cycle?.abort();
  }

  /**
   * A call lost its connection to Ollama: checks now (`/api/ps`) that Ollama answers and still has the
   * model loaded. Unreachable → degraded until it answers and the model is warm again; answering
   * without the model (restarted) → loaded again first. Never throws; one check at a time.
   */
  verify(): void {
    if (this.verifying !== undefined || this.state !== 'ready' || this.stopping.signal.aborted) {
      return;
    }
    this.verifying = (async () => {
      try {
        const ps = await this.readPsTwice();
        if (this.findLoaded(ps) === undefined && this.state === 'ready') {
          this.logger.warn(`model ${this.model} is no longer in Ollama's memory; loading it again`);
          this.resident = false;
          this.setState('loading');
          this.cycle?.abort();
        }
      } catch (error) {
        if (!this.stopping.signal.aborted && this.state === 'ready' && isOllamaFailure(error, 'unreachable')) {
          this.onEndpointChange(false);
        }
      } finally {
        this.verifying = undefined;
      }
    })();
  }

  /**
   * An inference request started. While one runs Ollama keeps the model loaded, and its end restarts the
   * `keep_alive` countdown, so keep-warm has nothing to refresh meanwhile.
   * @returns the function to call when it ends (once).
   */
  beginUse(): () => void {
    this.callsInFlight++;
    let ended = false;
    return () => {
      if (!ended) {
        ended = true;
        this.callsInFlight--;
        this.lastUseAt = Date.now();
      }
    };
  }

  /** Stops every timer and request of the lifecycle and waits for its loop to end. Safe to call twice. */
  async stop(): Promise<void> {
    if (!this.stopping.signal.aborted) {
      this.stopping.abort();
      this.unsubscribe?.();
      this.firstReady.reject(new Error('the model lifecycle was stopped'));
    }
    await Promise.all([this.running, this.verifying]);
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      const cycle = new AbortController();
      this.cycle = cycle;
      const link = new LinkedAbort([stop, cycle.signal]);
      const signal = link.signal;
      try {
        await this.bringUp(signal);
        this.backoff.reset();
        await this.stayWarm(signal);
      } catch (error) {
        if (stop.aborted) {
          break;
        }
        if (cycle.signal.aborted) {
          // Whoever ended the cycle (Ollama down, model missing) has already set the state.
          continue;
        }
        const permanent = error instanceof LifecycleProblem && error.permanent;
        const delayMs = permanent ? PERMANENT_PROBLEM_RETRY_MS : this.backoff.next();
        const message =
          error instanceof LifecycleProblem
            ? error.message
            : failureMessage(error, {
                step: this.step,
                model: this.model,
                baseUrl: this.endpoint.baseUrl,
                loadTimeoutMs: this.settings.loadTimeoutMs,
              });
        this.logger.warn(
          { err: isOllamaFailure(error) ? { message: error.message, detail: error.detail } : error },
          `${message}; retrying in ${delayMs} ms`,
        );
        this.setState('degraded', message);
        this.backingOff = true;
        await sleep(delayMs, signal).catch(() => undefined);
        this.backingOff = false;
      } finally {
        link.dispose();
      }
    }
  }

  private async bringUp(signal: AbortSignal): Promise<void> {
    if (!this.endpoint.isUp()) {
      if (this.state !== 'starting') {
        this.setState('degraded', `Ollama is not answering at ${this.endpoint.baseUrl}`);
      }
      await this.endpoint.whenUp(signal);
    }
    if (this.state !== 'starting') {
      this.setState('loading');
    }
    this.step = 'checking';
    if (!(await this.isPresent(signal))) {
      if (!this.settings.autoPull) {
        throw new LifecycleProblem(
          `model ${this.model} not found in Ollama and OLLAMA_AUTO_PULL is off; run 'ollama pull ${this.model}'`,
        );
      }
      await this.pullModel(signal);
    }
    const shown = await this.client.show(this.model, { signal, timeoutMs: CHECK_TIMEOUT_MS });
    this.capabilities = shown.capabilities ?? ['completion'];
    await this.load();
    signal.throwIfAborted();
    this.setState('ready');
  }

  private async isPresent(signal: AbortSignal): Promise<boolean> {
    const tags = await this.client.tags({ signal, timeoutMs: CHECK_TIMEOUT_MS });
    return tags.models.some((entry) => isSameModel(entry.name, this.model) || isSameModel(entry.model, this.model));
  }

  private async pullModel(signal: AbortSignal): Promise<void> {
    this.step = 'pulling';
    this.pull = { percent: 0, status: 'starting' };
    this.setState('pulling');
    await pullModel(
      this.client,
      this.model,
      this.settings.loadTimeoutMs,
      signal,
      (progress) => (this.pull = progress),
      this.logger,
    );
  }

  /**
   * Loads the model with an empty request (generate, or embed for an embedding model) and the
   * configured `keep_alive`. It is bounded by OLLAMA_LOAD_TIMEOUT and only shutdown cancels it: Ollama
   * abandons a load whose client left, so the next request would pay for it again.
   */
  private async load(): Promise<void> {
    this.step = 'loading';
    this.setState('loading');
    await this.warmUp();
  }

  private async warmUp(): Promise<void> {
    const startedAt = Date.now();
    const doneReason = await this.client.load(this.model, this.loadKind(), {
      signal: this.stopping.signal,
      timeoutMs: this.settings.loadTimeoutMs,
    });
    this.resident = true;
    this.lastUseAt = Date.now();
    if (doneReason !== undefined && doneReason !== 'load') {
      this.logger.warn(`warm-up of ${this.model} ended with done_reason ${doneReason}, not load`);
    }
    this.logger.debug(`model ${this.model} warmed up in ${Date.now() - startedAt} ms`);
  }

  /** While ready: keeps the model warm (`keepWarm`); returns only by throwing when `signal` aborts. */
  private stayWarm(signal: AbortSignal): Promise<void> {
    return keepWarm(
      {
        model: this.model,
        logger: this.logger,
        keepAliveMs: this.settings.keepWarm ? this.settings.keepAlive.ms : 0,
        inUse: () => this.callsInFlight > 0,
        loadedEntry: async (inner) =>
          this.findLoaded(await this.client.ps({ signal: inner, timeoutMs: CHECK_TIMEOUT_MS })),
        reload: async (inner) => {
          this.resident = false;
          await this.load();
          inner.throwIfAborted();
          this.setState('ready');
        },
        warmUp: () => this.warmUp(),
      },
      signal,
    );
  }

  private findLoaded(ps: OllamaPsResponse): OllamaPsModel | undefined {
    return ps.models.find((model) => isSameModel(model.name, this.model) || isSameModel(model.model, this.model));
  }

  /** `/api/ps`, asked a second time after a connection failure: one lost connection says little. */
  private async readPsTwice(): Promise<OllamaPsResponse> {
    const options = { signal: this.stopping.signal, timeoutMs: CHECK_TIMEOUT_MS };
    try {
      return await this.client.ps(options);
    } catch (error) {
      if (!isOllamaFailure(error, 'unreachable')) {
        throw error;
      }
      await sleep(VERIFY_RETRY_MS, this.stopping.signal);
      return this.client.ps(options);
    }
  }

  /** Embedding models cannot generate: they are loaded through `/api/embed`. */
  private loadKind(): LoadKind {
    return this.capabilities.includes('embedding') && !this.capabilities.includes('completion') ? 'embed' : 'generate';
  }

  private isWarm(): boolean {
    if (this.state !== 'ready' || !this.resident) {
      return false;
    }
    const keepAliveMs = this.settings.keepAlive.ms;
    if (this.settings.keepWarm || !Number.isFinite(keepAliveMs)) {
      return true;
    }
    return Date.now() - this.lastUseAt < keepAliveMs;
  }

  private onEndpointChange(up: boolean): void {
    if (this.stopping.signal.aborted) {
      return;
    }
    if (!up && this.state !== 'starting') {
      this.resident = false;
      this.setState('degraded', `Ollama is not answering at ${this.endpoint.baseUrl}`);
      this.cycle?.abort();
    }
    if (up && this.backingOff) {
      // Ollama is back (perhaps restarted, without our model in memory): start over now, not after the backoff.
      this.cycle?.abort();
    }
  }

  private setState(state: LlmState, reason?: string): void {
    const changed = state !== this.state || reason !== this.reason;
    this.state = state;
    this.reason = reason;
    if (!changed) {
      return;
    }
    if (state === 'degraded') {
      this.logger.warn(`model ${this.model} is degraded: ${reason ?? 'unknown reason'}`);
    } else {
      this.logger.log(`model ${this.model} is ${state}`);
    }
    if (state === 'ready') {
      this.firstReady.resolve();
      for (const listener of this.readyListeners) {
        listener();
      }
    }
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { LlmConfig, llmConfig, OllamaConfig, ollamaConfig } from '../config/configuration';
import { OllamaEndpoint } from '../ollama-process/ollama-endpoint';
import { Backoff } from './backoff';
import { LlmState } from './llm.types';
import { isSameModel } from './models/model-name';
import { OllamaOptions, OllamaPsModel } from './ollama-api.types';
import { OllamaClient } from './ollama-client';
import { isOllamaFailure } from './ollama-client.errors';

/**
 * Options that decide how Ollama loads the model (`num_ctx`, `num_batch`, …). A request whose load
 * options differ from the loaded runner's makes Ollama reload the model, so the warm-up and every
 * inference send exactly these. Empty: both leave them to the server (`OLLAMA_CONTEXT_LENGTH`).
 */
export const LOAD_OPTIONS: Readonly<OllamaOptions> = Object.freeze({});

/** Pull progress over all layers: bytes completed over bytes in total. */
export interface PullProgress {
  percent: number;
  status: string;
}

export interface ModelStatus {
  state: LlmState;
  reason?: string;
  pull?: PullProgress;
  /** The model is in Ollama's memory as far as we know, so a request will not pay its load time. */
  warm: boolean;
}

/** Pull progress is logged at most this often. */
const PULL_LOG_INTERVAL_MS = 5_000;
/** Keep-warm never checks more often than this, however short `keep_alive` is. */
const MIN_CHECK_INTERVAL_MS = 250;
/** With `keep_alive` forever there is nothing to refresh, but the model can still be evicted. */
const FOREVER_CHECK_INTERVAL_MS = 60_000;
/** The residency is refreshed when less than this remains (or 20 % of `keep_alive`, if more). */
const MIN_REFRESH_MARGIN_MS = 10_000;
/** How long a `/api/tags` or `/api/ps` check may take. */
const CHECK_TIMEOUT_MS = 10_000;

/** A problem of the lifecycle whose message is already the operator's instruction. */
class LifecycleProblem extends Error {}

/**
 * The served model's lifecycle: `starting → pulling → loading → ready`, and `degraded` (with a reason)
 * when Ollama or the model is lost, after which it repairs itself: it waits for Ollama, pulls the model
 * if it is missing (when OLLAMA_AUTO_PULL allows), loads it with an empty warm-up request, and with
 * LLM_KEEP_WARM refreshes its residency before `keep_alive` runs out. Failures are retried with
 * backoff; nothing here ever rejects unhandled.
 */
@Injectable()
export class ModelLifecycle {
  private readonly logger = new Logger(ModelLifecycle.name);
  private readonly backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
  private readonly stopping = new AbortController();
  private state: LlmState = 'starting';
  private reason?: string;
  private pull?: PullProgress;
  private resident = false;
  private lastUseAt = 0;
  private callsInFlight = 0;
  private cycle?: AbortController;
  /** What the lifecycle was doing, so that a failure can be told in those terms. */
  private step: 'checking' | 'pulling' | 'loading' = 'checking';
  /** True while the loop waits out a backoff, which Ollama coming back should cut short. */
  private backingOff = false;
  private running?: Promise<void>;
  private unsubscribe?: () => void;
  private readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(
    private readonly client: OllamaClient,
    private readonly endpoint: OllamaEndpoint,
    @Inject(ollamaConfig.KEY) private readonly ollama: OllamaConfig,
    @Inject(llmConfig.KEY) private readonly llm: LlmConfig,
  ) {}

  get model(): string {
    return this.ollama.model;
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
    if (this.state === 'ready') {
      return Promise.resolve();
    }
    if (this.stopping.signal.aborted) {
      return Promise.reject(new Error('the model lifecycle was stopped'));
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  status(): ModelStatus {
    return {
      state: this.state,
      ...(this.reason !== undefined && { reason: this.reason }),
      ...(this.state === 'pulling' && this.pull !== undefined && { pull: { ...this.pull } }),
      warm: this.isWarm(),
    };
  }

  /** What the state means, in words an operator can act on. */
  describe(): string {
    switch (this.state) {
      case 'starting':
        return this.endpoint.isUp()
          ? `model ${this.model} is starting`
          : `model ${this.model} is starting: waiting for Ollama at ${this.endpoint.baseUrl}`;
      case 'pulling':
        return `pulling ${this.model}: ${this.pull?.percent ?? 0}%`;
      case 'loading':
        return `model ${this.model} is loading`;
      case 'ready':
        return `model ${this.model} is ready`;
      case 'degraded':
        return this.reason ?? `model ${this.model} is unavailable`;
    }
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
      const stopped = new Error('the model lifecycle was stopped');
      for (const waiter of this.readyWaiters.splice(0)) {
        waiter.reject(stopped);
      }
    }
    await this.running;
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      const cycle = new AbortController();
      this.cycle = cycle;
      const signal = AbortSignal.any([stop, cycle.signal]);
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
        const delayMs = this.backoff.next();
        const message = error instanceof LifecycleProblem ? error.message : this.summarize(error);
        this.logger.warn(
          { err: isOllamaFailure(error) ? { message: error.message, detail: error.detail } : error },
          `${message}; retrying in ${delayMs} ms`,
        );
        this.setState('degraded', message);
        this.backingOff = true;
        await sleep(delayMs, signal).catch(() => undefined);
        this.backingOff = false;
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
      if (!this.ollama.autoPull) {
        throw new LifecycleProblem(
          `model ${this.model} not found in Ollama and OLLAMA_AUTO_PULL is off; run 'ollama pull ${this.model}'`,
        );
      }
      await this.pullModel(signal);
    }
    await this.load();
    signal.throwIfAborted();
    this.setState('ready');
  }

  private async isPresent(signal: AbortSignal): Promise<boolean> {
    const tags = await this.client.tags({ signal, timeoutMs: CHECK_TIMEOUT_MS });
    return tags.models.some((entry) => isSameModel(entry.name, this.model) || isSameModel(entry.model, this.model));
  }

  /**
   * Pulls the model, keeping the progress in the state. A pull that makes no progress for
   * OLLAMA_LOAD_TIMEOUT is aborted, and the lifecycle retries it (Ollama resumes partial downloads).
   */
  private async pullModel(signal: AbortSignal): Promise<void> {
    this.step = 'pulling';
    this.pull = { percent: 0, status: 'starting' };
    this.setState('pulling');
    this.logger.log(`model ${this.model} is not in Ollama; pulling it`);
    const attempt = new AbortController();
    const stallMs = this.ollama.loadTimeoutMs;
    let stalled = false;
    let watchdog: NodeJS.Timeout | undefined;
    const progressed = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        attempt.abort();
      }, stallMs);
    };
    const layers = new Map<string, { total: number; completed: number }>();
    let lastCompleted = -1;
    let lastStatus = '';
    let loggedAt = 0;
    progressed();
    try {
      const lines = await this.client.pull(this.model, AbortSignal.any([signal, attempt.signal]));
      for await (const line of lines) {
        if (line.digest !== undefined && line.total !== undefined && line.total > 0) {
          layers.set(line.digest, { total: line.total, completed: line.completed ?? 0 });
        }
        let total = 0;
        let completed = 0;
        for (const layer of layers.values()) {
          total += layer.total;
          completed += Math.min(layer.completed, layer.total);
        }
        if (completed > lastCompleted || line.status !== lastStatus) {
          progressed();
        }
        lastCompleted = completed;
        lastStatus = line.status;
        this.pull = { percent: total > 0 ? Math.floor((completed / total) * 100) : 0, status: line.status };
        if (Date.now() - loggedAt >= PULL_LOG_INTERVAL_MS) {
          loggedAt = Date.now();
          this.logger.log(`pulling ${this.model}: ${this.pull.percent}% (${line.status})`);
        }
      }
    } catch (error) {
      if (stalled) {
        throw new LifecycleProblem(`pulling ${this.model} made no progress for ${stallMs} ms (OLLAMA_LOAD_TIMEOUT)`);
      }
      throw error;
    } finally {
      clearTimeout(watchdog);
    }
    this.pull = { percent: 100, status: 'success' };
    this.logger.log(`pulled ${this.model}`);
  }

  /**
   * Loads the model with an empty generate request and the configured `keep_alive`. It is bounded by
   * OLLAMA_LOAD_TIMEOUT and only shutdown cancels it: Ollama abandons a load whose client left, so the
   * next request would pay for it again.
   */
  private async load(): Promise<void> {
    this.step = 'loading';
    this.setState('loading');
    await this.warmUp();
  }

  private async warmUp(): Promise<void> {
    const startedAt = Date.now();
    const reply = await this.client.generate(
      { model: this.model, keep_alive: this.ollama.keepAlive.apiValue, options: { ...LOAD_OPTIONS } },
      { signal: this.stopping.signal, timeoutMs: this.ollama.loadTimeoutMs },
    );
    this.resident = true;
    this.lastUseAt = Date.now();
    if (reply.done_reason !== undefined && reply.done_reason !== 'load') {
      this.logger.warn(`warm-up of ${this.model} ended with done_reason ${reply.done_reason}, not load`);
    }
    this.logger.debug(`model ${this.model} warmed up in ${Date.now() - startedAt} ms`);
  }

  /**
   * While ready: with LLM_KEEP_WARM, watches `/api/ps` and re-sends the warm-up before `keep_alive`
   * runs out, and reloads the model if Ollama dropped it. Returns only by throwing when `signal` aborts.
   */
  private async stayWarm(signal: AbortSignal): Promise<void> {
    const keepAliveMs = this.ollama.keepAlive.ms;
    if (!this.llm.keepWarm || keepAliveMs === 0) {
      return sleep(Infinity, signal);
    }
    const plan = keepWarmPlan(keepAliveMs);
    let nextCheckMs = plan.checkEveryMs;
    for (;;) {
      await sleep(nextCheckMs, signal);
      nextCheckMs = plan.checkEveryMs;
      let entry: OllamaPsModel | undefined;
      try {
        const ps = await this.client.ps({ signal, timeoutMs: CHECK_TIMEOUT_MS });
        entry = ps.models.find((model) => isSameModel(model.name, this.model) || isSameModel(model.model, this.model));
      } catch (error) {
        signal.throwIfAborted();
        // Ollama's own health is the endpoint's business; try again at the next check.
        this.logger.debug({ err: error }, 'keep-warm could not read /api/ps');
        continue;
      }
      if (entry === undefined) {
        this.logger.warn(`model ${this.model} is no longer in Ollama's memory; loading it again`);
        this.resident = false;
        await this.load();
        signal.throwIfAborted();
        this.setState('ready');
        continue;
      }
      if (!Number.isFinite(keepAliveMs) || this.callsInFlight > 0) {
        continue;
      }
      const remainingMs = Date.parse(entry.expires_at) - Date.now();
      if (Number.isNaN(remainingMs) || remainingMs <= plan.refreshMarginMs) {
        if (!(await this.refresh(signal)) && remainingMs > 0) {
          // Some residency is left: try again well before it runs out.
          nextCheckMs = Math.max(MIN_CHECK_INTERVAL_MS, Math.min(plan.checkEveryMs, remainingMs / 3));
        }
      } else {
        nextCheckMs = Math.max(MIN_CHECK_INTERVAL_MS, Math.min(plan.checkEveryMs, remainingMs - plan.refreshMarginMs));
      }
    }
  }

  /**
   * Re-sends the warm-up to restart the `keep_alive` countdown. The model is still loaded, so a failure
   * here changes nothing yet: it is logged, and the caller tries again soon.
   * @returns whether the refresh worked.
   */
  private async refresh(signal: AbortSignal): Promise<boolean> {
    try {
      await this.warmUp();
      return true;
    } catch (error) {
      if (signal.aborted || isOllamaFailure(error, 'model_not_found', 'aborted')) {
        throw error;
      }
      this.logger.warn(
        { err: isOllamaFailure(error) ? { message: error.message, detail: error.detail } : error },
        `refreshing the residency of ${this.model} failed; trying again shortly`,
      );
      return false;
    }
  }

  private isWarm(): boolean {
    if (this.state !== 'ready' || !this.resident) {
      return false;
    }
    const keepAliveMs = this.ollama.keepAlive.ms;
    if (this.llm.keepWarm || !Number.isFinite(keepAliveMs)) {
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
      for (const waiter of this.readyWaiters.splice(0)) {
        waiter.resolve();
      }
    }
  }

  private summarize(error: unknown): string {
    const doing = this.step === 'checking' ? 'listing the models of Ollama' : `${this.step} ${this.model}`;
    if (!isOllamaFailure(error)) {
      return `${doing} failed unexpectedly`;
    }
    switch (error.kind) {
      case 'timeout':
        return this.step === 'loading'
          ? `loading ${this.model} took longer than ${this.ollama.loadTimeoutMs} ms (OLLAMA_LOAD_TIMEOUT)`
          : `${doing} timed out`;
      case 'unreachable':
        return `Ollama is not answering at ${this.endpoint.baseUrl}`;
      case 'model_not_found':
        return `model ${this.model} is not in Ollama`;
      case 'busy':
        return `Ollama was too busy for ${doing}`;
      case 'upstream':
      case 'protocol':
      case 'aborted':
        return `${doing} failed: ${error.message}`;
    }
  }
}

/**
 * When keep-warm looks at `/api/ps`, and how early it refreshes: with less than max(10 s, 20 %) of
 * `keep_alive` left (but never more than half of it), checking at least every quarter of it.
 */
export function keepWarmPlan(keepAliveMs: number): { checkEveryMs: number; refreshMarginMs: number } {
  if (!Number.isFinite(keepAliveMs)) {
    return { checkEveryMs: FOREVER_CHECK_INTERVAL_MS, refreshMarginMs: 0 };
  }
  return {
    checkEveryMs: Math.max(MIN_CHECK_INTERVAL_MS, keepAliveMs / 4),
    refreshMarginMs: Math.min(Math.max(MIN_REFRESH_MARGIN_MS, keepAliveMs * 0.2), keepAliveMs / 2),
  };
}

/** Waits `ms` (for ever when `Infinity`); rejects with the signal's reason when it aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms)
      : undefined;
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

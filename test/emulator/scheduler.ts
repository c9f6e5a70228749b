/**
 * Model residency as Ollama's scheduler (`server/sched.go`) manages it: loads, parallel slots,
 * keep-alive countdowns that start when the last request finishes, reloads on a different
 * `num_ctx`, and loads abandoned when every waiting client has gone.
 */
import { FOREVER_NS, NS_PER_MS } from './keep-alive';
import { nowNs } from './go-time';
import { modelKey } from './model-names';
import type { ResolvedModel } from './model-registry';
import { Condition, type TimerSet } from './timers';

/** setTimeout's limit; longer keep-alives simply never expire within a test run. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Runner {
  info: ResolvedModel;
  state: 'loading' | 'ready';
  numCtx: number;
  keepAliveNs: bigint;
  /** Requests being served. While above 0 the expiry countdown is stopped. */
  refCount: number;
  /** Requests waiting for this runner's load to finish. */
  waiters: number;
  /** Set when the last request finished; null until then (/api/ps then estimates now + keep-alive). */
  expiresAtNs: bigint | null;
  loadTimer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;
}

export interface Lease {
  runner: Runner;
  /** True when this request had to wait for the model to load. */
  cold: boolean;
  released: boolean;
}

export interface SchedulerSettings {
  loadTimeMs: number;
  numParallel: number;
  defaultKeepAliveNs: bigint;
}

export interface SchedulerEvents {
  loaded(runner: Runner): void;
  unloaded(runner: Runner): void;
  abandoned(runner: Runner): void;
}

export class Scheduler {
  private readonly runners = new Map<string, Runner>();
  private readonly changed = new Condition();

  constructor(
    private readonly timers: TimerSet,
    private readonly settings: () => SchedulerSettings,
    private readonly events: SchedulerEvents,
  ) {}

  /**
   * Waits until `info`'s model is loaded with `numCtx` and has a free slot, loading or reloading it
   * as needed, then takes a slot. Rejects when `signal` aborts; a load nobody waits for any more is
   * abandoned.
   */
  async acquire(
    info: ResolvedModel,
    request: { keepAliveNs?: bigint; numCtx: number; signal: AbortSignal },
  ): Promise<Lease> {
    const key = modelKey(info.name);
    let cold = false;
    for (;;) {
      request.signal.throwIfAborted();
      const runner = this.runners.get(key);
      if (runner === undefined) {
        this.startLoad(key, info, request.numCtx, request.keepAliveNs ?? this.settings().defaultKeepAliveNs);
        continue;
      }
      if (runner.state === 'loading') {
        cold = true;
        await this.waitForLoad(key, runner, request.signal);
        continue;
      }
      if (runner.numCtx !== request.numCtx) {
        // Different runner options: the model is reloaded once its current requests are done.
        if (runner.refCount > 0) {
          await this.changed.wait(request.signal);
        } else {
          this.unload(runner);
        }
        continue;
      }
      const { numParallel } = this.settings();
      if (numParallel > 0 && runner.refCount >= numParallel) {
        await this.changed.wait(request.signal);
        continue;
      }
      runner.refCount++;
      this.timers.clear(runner.expiryTimer);
      runner.expiryTimer = undefined;
      if (request.keepAliveNs !== undefined) {
        runner.keepAliveNs = request.keepAliveNs;
      }
      return { runner, cold, released: false };
    }
  }

  /** Frees the slot; the last request out starts the keep-alive countdown. */
  release(lease: Lease): void {
    if (lease.released) {
      return;
    }
    lease.released = true;
    const { runner } = lease;
    runner.refCount--;
    if (this.isCurrent(runner) && runner.refCount === 0) {
      this.startCountdown(runner);
    }
    this.changed.notifyAll();
  }

  /** `keep_alive: 0` with nothing to do: unload now if idle, else right after the running requests. */
  expire(info: ResolvedModel): void {
    const runner = this.runners.get(modelKey(info.name));
    if (runner === undefined) {
      return;
    }
    runner.keepAliveNs = 0n;
    if (runner.state === 'ready' && runner.refCount === 0) {
      this.unload(runner);
    }
  }

  /** Drops every runner at once (eviction, crash); requests still running keep their stale lease. */
  unloadAll(): void {
    for (const runner of [...this.runners.values()]) {
      if (runner.state === 'loading') {
        this.abandon(runner);
      } else {
        this.unload(runner);
      }
    }
  }

  /** Lets waiting requests re-check their condition, e.g. after `numParallel` changed. */
  wake(): void {
    this.changed.notifyAll();
  }

  /** Forgets everything without counting (the server is going away). */
  reset(): void {
    for (const runner of this.runners.values()) {
      this.timers.clear(runner.loadTimer);
      this.timers.clear(runner.expiryTimer);
    }
    this.runners.clear();
  }

  runnersSnapshot(): Runner[] {
    return [...this.runners.values()];
  }

  private isCurrent(runner: Runner): boolean {
    return this.runners.get(modelKey(runner.info.name)) === runner;
  }

  private startLoad(key: string, info: ResolvedModel, numCtx: number, keepAliveNs: bigint): void {
    const runner: Runner = {
      info,
      state: 'loading',
      numCtx,
      keepAliveNs,
      refCount: 0,
      waiters: 0,
      expiresAtNs: null,
    };
    this.runners.set(key, runner);
    runner.loadTimer = this.timers.set(() => {
      runner.loadTimer = undefined;
      runner.state = 'ready';
      this.events.loaded(runner);
      this.settleIdle(runner);
      this.changed.notifyAll();
    }, this.settings().loadTimeMs);
  }

  private async waitForLoad(key: string, runner: Runner, signal: AbortSignal): Promise<void> {
    runner.waiters++;
    try {
      await this.changed.wait(signal);
    } finally {
      runner.waiters--;
      if (signal.aborted && runner.waiters === 0 && this.runners.get(key) === runner) {
        if (runner.state === 'loading') {
          this.abandon(runner);
        } else {
          this.settleIdle(runner);
        }
      }
    }
  }

  /** A loaded runner that nobody is about to use starts its countdown at once. */
  private settleIdle(runner: Runner): void {
    if (
      runner.state === 'ready' &&
      runner.refCount === 0 &&
      runner.waiters === 0 &&
      runner.expiryTimer === undefined &&
      this.isCurrent(runner)
    ) {
      this.startCountdown(runner);
    }
  }

  private startCountdown(runner: Runner): void {
    this.timers.clear(runner.expiryTimer);
    runner.expiryTimer = undefined;
    const now = nowNs();
    runner.expiresAtNs = now + runner.keepAliveNs;
    if (runner.keepAliveNs === 0n) {
      this.unload(runner);
      return;
    }
    if (runner.keepAliveNs >= FOREVER_NS) {
      return;
    }
    const ms = Number((runner.keepAliveNs + NS_PER_MS - 1n) / NS_PER_MS);
    if (ms > MAX_TIMER_MS) {
      return;
    }
    runner.expiryTimer = this.timers.set(() => {
      runner.expiryTimer = undefined;
      if (this.isCurrent(runner) && runner.refCount === 0) {
        this.unload(runner);
      }
    }, ms);
  }

  private unload(runner: Runner): void {
    this.timers.clear(runner.expiryTimer);
    this.timers.clear(runner.loadTimer);
    runner.expiryTimer = undefined;
    if (this.isCurrent(runner)) {
      this.runners.delete(modelKey(runner.info.name));
    }
    this.events.unloaded(runner);
    this.changed.notifyAll();
  }

  private abandon(runner: Runner): void {
    this.timers.clear(runner.loadTimer);
    runner.loadTimer = undefined;
    if (this.isCurrent(runner)) {
      this.runners.delete(modelKey(runner.info.name));
    }
    this.events.abandoned(runner);
    this.changed.notifyAll();
  }
}

import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig, appConfig } from '../config/configuration';
import { Llm } from '../llm/llm';

/**
 * The HTTP side of a graceful shutdown (CONTRACT §4). Nest runs `onModuleDestroy`, then
 * `beforeApplicationShutdown` while the listener is still open, then closes it, then
 * `onApplicationShutdown` (where the Ollama supervisor stops what it owns). So:
 * 1. at the first hook readiness turns 503 (`shutting_down`) at once;
 * 2. new inference requests are refused with 503 and in-flight ones get `SHUTDOWN_GRACE_PERIOD` from
 *    the signal to finish, after which they are aborted (open streams get a final event);
 * 3. the listener stays open at least `SHUTDOWN_DRAIN_DELAY`, so load balancers see readiness fail
 *    before connections are refused.
 */
@Injectable()
export class GracefulShutdown implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private draining?: Promise<void>;
  private startedAt?: number;

  constructor(
    @Inject(appConfig.KEY) private readonly config: AppConfig,
    private readonly llm: Llm,
    private readonly indicators: HealthIndicatorService,
  ) {}

  get shuttingDown(): boolean {
    return this.startedAt !== undefined;
  }

  onModuleDestroy(): void {
    this.begin();
  }

  beforeApplicationShutdown(signal?: string): Promise<void> {
    this.begin();
    this.draining ??= this.drain(signal);
    return this.draining;
  }

  /** The readiness part: down from the moment shutdown begins. */
  check(key: string): HealthIndicatorResult {
    const indicator = this.indicators.check(key);
    if (this.startedAt === undefined) {
      return indicator.up();
    }
    return indicator.down({ message: 'the service is shutting down; send new requests to another instance' });
  }

  private begin(): void {
    this.startedAt ??= Date.now();
  }

  private async drain(signal?: string): Promise<void> {
    this.logger.log(
      `shutting down${signal ? ` on ${signal}` : ''}: readiness now 503; draining for at least ` +
        `${this.config.shutdownDrainDelayMs} ms, in-flight requests get up to ${this.config.shutdownGracePeriodMs} ms`,
    );
    await Promise.all([sleep(this.config.shutdownDrainDelayMs), this.llm.drain(this.config.shutdownGracePeriodMs)]);
    this.logger.log(`drained in ${Date.now() - (this.startedAt ?? Date.now())} ms`);
  }
}

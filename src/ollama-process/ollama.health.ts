import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { OllamaStatus } from './ollama-status';
import { OllamaSupervisor } from './ollama-supervisor';

/**
 * `/health/ollama` and the Ollama part of readiness. It reports the supervisor's cached state, which the
 * supervisor keeps fresh by polling, so a probe never waits on the network.
 */
@Injectable()
export class OllamaHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly supervisor: OllamaSupervisor,
  ) {}

  /**
   * Up with `{url, reachable, state, version, ownership, pid, restarts}` while Ollama answers; else down
   * with the same details and a `message` saying what is wrong. Never waits.
   */
  check<const Key extends string = 'ollama'>(key: Key = 'ollama' as Key): HealthIndicatorResult<Key> {
    const status = this.supervisor.status();
    const indicator = this.indicators.check(key);
    const details = {
      url: status.url,
      reachable: status.reachable,
      state: status.state,
      version: status.version,
      ownership: status.ownership,
      pid: status.pid,
      restarts: status.restarts,
    };
    return status.reachable ? indicator.up(details) : indicator.down({ ...details, message: downMessage(status) });
  }
}

function downMessage(status: OllamaStatus): string {
  if (status.lastError !== undefined) {
    return status.lastError;
  }
  switch (status.state) {
    case 'stopping':
    case 'stopped':
      return 'the service is shutting down';
    case 'starting':
    case 'running':
    case 'restarting':
    case 'failed':
      return `waiting for Ollama at ${status.url} to answer`;
  }
}

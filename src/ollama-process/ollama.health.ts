import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { OllamaFleet } from './ollama-fleet';
import { OllamaStatus } from './ollama-status';

/** Something with the servers' statuses; `OllamaFleet` in the application. */
export type OllamaStatusSource = Pick<OllamaFleet, 'statuses'>;

/**
 * `/health/ollama` and the Ollama part of readiness. It reports the supervisors' cached states, which
 * they keep fresh by polling, so a probe never waits on the network. Up while at least one server
 * answers: the gateway routes around the others.
 */
@Injectable()
export class OllamaHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(OllamaFleet) private readonly fleet: OllamaStatusSource,
  ) {}

  /**
   * Up with the first server's `{url, reachable, state, version, ownership, pid, restarts}` and
   * `backends`, every server's details (with a `message` for those that do not answer); down, with a
   * `message` saying what is wrong, when none answers. Never waits.
   */
  check<const Key extends string = 'ollama'>(key: Key = 'ollama' as Key): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    const statuses = this.fleet.statuses();
    const backends = statuses.map((status) => ({
      ...details(status),
      ...(!status.reachable && { message: downMessage(status) }),
    }));
    const summary = { ...details(statuses[0]), backends };
    if (statuses.some((status) => status.reachable)) {
      return indicator.up(summary);
    }
    return indicator.down({ ...summary, message: backends.map((backend) => backend.message).join('; ') });
  }
}

function details(status: OllamaStatus): Omit<OllamaStatus, 'lastError'> {
  return {
    url: status.url,
    reachable: status.reachable,
    state: status.state,
    version: status.version,
    ownership: status.ownership,
    pid: status.pid,
    restarts: status.restarts,
  };
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

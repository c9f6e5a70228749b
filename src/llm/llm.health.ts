import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { LlmService } from './llm.service';
import { ModelLifecycle } from './model-lifecycle';

/**
 * `/health/llm` and the model part of readiness, from the service's own state: no network call, so a
 * probe never waits on Ollama. Down unless the model is ready and the circuit is not open.
 */
@Injectable()
export class LlmHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly llm: LlmService,
    private readonly lifecycle: ModelLifecycle,
  ) {}

  /**
   * Up with `{model, state, warm, circuit, queueDepth, inFlight}` (and `pull` while pulling); down with a
   * `message` such as `model llama3.1:latest is loading` or `circuit open after 5 consecutive upstream failures`.
   */
  check<const Key extends string = 'llm'>(key: Key = 'llm' as Key): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    const status = this.llm.status();
    const details = {
      model: status.model,
      state: status.state,
      ...(status.pull !== undefined && { pull: status.pull }),
      warm: status.warm,
      circuit: status.circuit,
      queueDepth: status.queueDepth,
      inFlight: status.inFlight,
    };
    if (status.state !== 'ready') {
      return indicator.down({ ...details, message: this.lifecycle.describe() });
    }
    if (status.circuit === 'open') {
      return indicator.down({ ...details, message: this.llm.circuitMessage() });
    }
    return indicator.up(details);
  }
}

import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Llm } from './llm';

/**
 * `/health/llm` and the models' part of readiness, from the service's own state: no network call, so a
 * probe never waits on Ollama. Down unless every served model is ready and the circuit is not open.
 */
@Injectable()
export class LlmHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly llm: Llm,
  ) {}

  /**
   * Up with the default model's `{model, state, warm, circuit, queueDepth, inFlight}` (and `pull` while
   * pulling) and `models: {"<name>": {state, warm, pull?, capabilities}}`; down with a `message` such as
   * `model llama3.1:latest is loading` or `circuit open after 5 consecutive upstream failures`.
   */
  check<const Key extends string = 'llm'>(key: Key = 'llm' as Key): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    const status = this.llm.status();
    const models = Object.fromEntries(
      Object.entries(status.models).map(([name, model]) => [
        name,
        {
          state: model.state,
          warm: model.warm,
          ...(model.pull !== undefined && { pull: model.pull }),
          capabilities: model.capabilities,
          ...(model.problem !== undefined && { message: model.problem }),
        },
      ]),
    );
    const details = {
      model: status.model,
      state: status.state,
      ...(status.pull !== undefined && { pull: status.pull }),
      warm: status.warm,
      circuit: status.circuit,
      queueDepth: status.queueDepth,
      inFlight: status.inFlight,
      models,
    };
    const problems = [
      status.problem,
      ...Object.entries(status.models)
        .filter(([name, model]) => name !== status.model && model.problem !== undefined)
        .map(([, model]) => model.problem),
    ].filter((problem): problem is string => problem !== undefined);
    if (problems.length > 0) {
      return indicator.down({ ...details, message: problems.join('; ') });
    }
    return indicator.up(details);
  }
}

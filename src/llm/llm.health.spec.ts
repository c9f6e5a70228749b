import { HealthIndicatorService } from '@nestjs/terminus';
import { LlmHealthIndicator } from './llm.health';
import { LlmService, LlmStatus } from './llm.service';
import { ModelLifecycle } from './model-lifecycle';

const MODEL = 'llama3.1:latest';

function indicator(status: Partial<LlmStatus>, description = `model ${MODEL} is ready`): LlmHealthIndicator {
  const full: LlmStatus = {
    state: 'ready',
    model: MODEL,
    warm: true,
    circuit: 'closed',
    queueDepth: 0,
    inFlight: 0,
    ...status,
  };
  const llm = {
    status: () => full,
    circuitMessage: () => 'circuit open after 5 consecutive upstream failures',
  } as unknown as LlmService;
  const lifecycle = { describe: () => description } as unknown as ModelLifecycle;
  return new LlmHealthIndicator(new HealthIndicatorService(), llm, lifecycle);
}

describe(LlmHealthIndicator.name, () => {
  it('is up when the model is ready and the circuit closed, with the details', () => {
    expect(indicator({ queueDepth: 3, inFlight: 4 }).check()).toEqual({
      llm: { status: 'up', model: MODEL, state: 'ready', warm: true, circuit: 'closed', queueDepth: 3, inFlight: 4 },
    });
  });

  it('stays up while the circuit is half-open, so the trial request can come', () => {
    expect(indicator({ circuit: 'half-open' }).check('model').model.status).toBe('up');
  });

  it('is down while the model loads, saying so', () => {
    expect(indicator({ state: 'loading', warm: false }, `model ${MODEL} is loading`).check()).toEqual({
      llm: expect.objectContaining({ status: 'down', state: 'loading', message: `model ${MODEL} is loading` }),
    });
  });

  it('is down while pulling, with the progress', () => {
    const result = indicator(
      { state: 'pulling', warm: false, pull: { percent: 45, status: 'pulling dde5aa3fc5ff' } },
      `pulling ${MODEL}: 45%`,
    ).check();
    expect(result.llm).toMatchObject({
      status: 'down',
      pull: { percent: 45, status: 'pulling dde5aa3fc5ff' },
      message: `pulling ${MODEL}: 45%`,
    });
  });

  it('is down while the circuit is open, saying why', () => {
    expect(indicator({ circuit: 'open' }).check().llm).toMatchObject({
      status: 'down',
      message: 'circuit open after 5 consecutive upstream failures',
    });
  });
});

import { HealthIndicatorService } from '@nestjs/terminus';
import { FakeLlm } from '../../test/support/fake-llm';
import type { LlmStatus } from './llm';
import { LlmHealthIndicator } from './llm.health';

const MODEL = 'llama3.1:latest';
const EMBEDDER = 'nomic-embed-text:latest';

function indicator(status: Partial<LlmStatus>): LlmHealthIndicator {
  const llm = new FakeLlm([
    { name: MODEL, capabilities: ['completion', 'tools'] },
    { name: EMBEDDER, capabilities: ['embedding'] },
  ]);
  llm.currentStatus = { ...llm.currentStatus, ...status };
  return new LlmHealthIndicator(new HealthIndicatorService(), llm);
}

const READY_MODELS: LlmStatus['models'] = {
  [MODEL]: { state: 'ready', warm: true, capabilities: ['completion', 'tools'] },
  [EMBEDDER]: { state: 'ready', warm: true, capabilities: ['embedding'] },
};

describe(LlmHealthIndicator.name, () => {
  it('is up when every model is ready and the circuit closed, with the details of each', () => {
    expect(indicator({ queueDepth: 3, inFlight: 4 }).check()).toEqual({
      llm: {
        status: 'up',
        model: MODEL,
        state: 'ready',
        warm: true,
        circuit: 'closed',
        queueDepth: 3,
        inFlight: 4,
        models: READY_MODELS,
      },
    });
  });

  it('stays up while the circuit is half-open, so the trial request can come', () => {
    expect(indicator({ circuit: 'half-open' }).check('model').model.status).toBe('up');
  });

  it('is down while the default model loads, saying so', () => {
    const problem = `model ${MODEL} is loading`;
    const result = indicator({
      state: 'loading',
      warm: false,
      problem,
      models: { ...READY_MODELS, [MODEL]: { state: 'loading', warm: false, capabilities: [], problem } },
    }).check();
    expect(result.llm).toMatchObject({ status: 'down', state: 'loading', message: problem });
    expect(result.llm.models).toMatchObject({ [MODEL]: { state: 'loading', warm: false, message: problem } });
  });

  it('is down while another served model is pulled, with its progress', () => {
    const pull = { percent: 45, status: 'pulling dde5aa3fc5ff' };
    const problem = `pulling ${EMBEDDER}: 45%`;
    const result = indicator({
      models: { ...READY_MODELS, [EMBEDDER]: { state: 'pulling', warm: false, capabilities: [], pull, problem } },
    }).check();
    expect(result.llm).toMatchObject({ status: 'down', state: 'ready', message: problem });
    expect(result.llm.models).toMatchObject({ [EMBEDDER]: { state: 'pulling', pull, message: problem } });
  });

  it('is down while the circuit is open, saying why', () => {
    const problem = 'circuit open after 5 consecutive upstream failures';
    expect(indicator({ circuit: 'open', problem }).check().llm).toMatchObject({ status: 'down', message: problem });
  });
});

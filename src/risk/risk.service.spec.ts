import { Logger } from '@nestjs/common';
import { BadGatewayError, InvalidRequestError, ServiceUnavailableError } from '../common/errors';
import { FAKE_RESULT, FakeLlm } from '../../test/support/fake-llm';
import type { RiskAssessRequestDto } from './dto/risk-assess-request.dto';
import { computeIndicators } from './indicators';
import { RISK_ANSWER_SCHEMA } from './risk-answer';
import { RiskService } from './risk.service';

const VALID = JSON.stringify({
  score: 81,
  summary: 'Revenue is collapsing and the price is volatile.',
  factors: [
    { name: 'Revenue decline', severity: 'critical', evidence: [0, 5, 0] },
    { name: 'Volatility', severity: 'high', evidence: [] },
  ],
});

const REQUEST: RiskAssessRequestDto = {
  subject: 'ACME Corp',
  question: 'Default risk?',
  evidence: [{ text: 'Revenue fell 40%', source: '10-Q', date: '2026-10-30' }, { text: 'CFO resigned' }],
  prices: [100, 90, 90, 99, 118.8],
  horizonDays: 30,
};

function build(replies: Array<string | Error>): { service: RiskService; llm: FakeLlm } {
  const llm = new FakeLlm();
  llm.chatReplies = replies;
  llm.chatResult = new Error('no scripted reply left');
  return { service: new RiskService(llm), llm };
}

describe(RiskService.name, () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    warn.mockRestore();
  });

  it('asks the model the request names', async () => {
    const { service, llm } = build([VALID]);
    await service.assess({ ...REQUEST, model: 'llama3.1' });
    expect(llm.calls[0].request.model).toBe('llama3.1');
  });

  it('answers with the checked assessment, the level from the score, the indicators, model and timings', async () => {
    const { service } = build([VALID]);
    await expect(service.assess(REQUEST)).resolves.toEqual({
      subject: 'ACME Corp',
      riskLevel: 'critical',
      score: 81,
      summary: 'Revenue is collapsing and the price is volatile.',
      factors: [
        { name: 'Revenue decline', severity: 'critical', evidence: [0] },
        { name: 'Volatility', severity: 'high', evidence: [] },
      ],
      indicators: computeIndicators(REQUEST.prices ?? []),
      model: 'llama3.1:latest',
      timings: FAKE_RESULT.timings,
    });
  });

  it('asks for the schema as structured output, at a low temperature, labelled risk', async () => {
    const { service, llm } = build([VALID]);
    const signal = new AbortController().signal;
    await service.assess(REQUEST, { signal, requestId: 'req-1' });
    const [{ request, options }] = llm.calls;
    expect(request.format).toBe(RISK_ANSWER_SCHEMA);
    expect(request.options?.temperature).toBeLessThanOrEqual(0.3);
    expect(request.messages[0].role).toBe('system');
    expect(request.messages[1].content).toContain('[1] {"text":"CFO resigned","source":null,"date":null}');
    expect(options).toEqual({ signal, endpoint: 'risk', requestId: 'req-1' });
  });

  it('leaves indicators out when no prices were given', async () => {
    const { service, llm } = build([VALID]);
    const assessment = await service.assess({ subject: 'ACME Corp' });
    expect(assessment).not.toHaveProperty('indicators');
    expect(assessment.factors[0].evidence).toEqual([]);
    expect(llm.calls[0].request.messages[1].content).toContain('Price indicators: none');
  });

  it('takes the level from the score whatever the model says about it', async () => {
    const { service } = build([JSON.stringify({ score: 10, summary: 'Fine.', factors: [], riskLevel: 'critical' })]);
    await expect(service.assess(REQUEST)).resolves.toMatchObject({ score: 10, riskLevel: 'low' });
  });

  it('asks once more after an invalid answer and uses the second', async () => {
    const { service, llm } = build(['Sure! Here is {"score": 4', VALID]);
    await expect(service.assess(REQUEST)).resolves.toMatchObject({ score: 81 });
    expect(llm.calls).toHaveLength(2);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('fails with 502 after two invalid answers, and calls the model exactly twice', async () => {
    const { service, llm } = build(['not json', JSON.stringify({ score: 500, summary: 'x', factors: [] }), VALID]);
    const failure = service.assess(REQUEST);
    await expect(failure).rejects.toThrow(BadGatewayError);
    await expect(failure).rejects.toThrow(
      'the model did not return a valid risk assessment after 2 attempts; try again or rephrase the request',
    );
    expect(llm.calls).toHaveLength(2);
  });

  it('does not retry a refusal of the model itself; that error goes to the client', async () => {
    const refusal = new ServiceUnavailableError('the model is loading', 'not_ready', 5);
    const { service, llm } = build([refusal, VALID]);
    await expect(service.assess(REQUEST)).rejects.toBe(refusal);
    expect(llm.calls).toHaveLength(1);
  });

  it('refuses prices whose ratios overflow with 400, before calling the model', async () => {
    const { service, llm } = build([VALID]);
    await expect(service.assess({ subject: 'x', prices: [5e-324, 1e300, 1] })).rejects.toThrow(InvalidRequestError);
    expect(llm.calls).toHaveLength(0);
  });
});

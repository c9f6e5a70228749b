import { parseRiskAnswer, RISK_ANSWER_SCHEMA } from './risk-answer';
import { riskLevelFor } from './risk-level';

const valid = {
  score: 62,
  summary: 'Revenue is falling. ',
  factors: [{ name: 'Revenue decline', severity: 'high', evidence: [1, 0] }],
};

function answer(overrides: Record<string, unknown>): string {
  return JSON.stringify({ ...valid, ...overrides });
}

describe(parseRiskAnswer.name, () => {
  it('accepts a valid answer and trims its text', () => {
    expect(parseRiskAnswer(JSON.stringify(valid), 2)).toEqual({
      valid: true,
      answer: {
        score: 62,
        summary: 'Revenue is falling.',
        factors: [{ name: 'Revenue decline', severity: 'high', evidence: [0, 1] }],
      },
    });
  });

  it('drops evidence indices the request did not have, and duplicates', () => {
    const check = parseRiskAnswer(
      answer({ factors: [{ name: 'x', severity: 'low', evidence: [2, -1, 0, 7, 0, 2] }] }),
      3,
    );
    expect(check).toMatchObject({ valid: true, answer: { factors: [{ evidence: [0, 2] }] } });
  });

  it('drops every evidence index when the request had no evidence', () => {
    const check = parseRiskAnswer(answer({ factors: [{ name: 'x', severity: 'low', evidence: [0, 1] }] }), 0);
    expect(check).toMatchObject({ valid: true, answer: { factors: [{ evidence: [] }] } });
  });

  it('rebuilds the answer, so keys the model adds never reach the response', () => {
    const check = parseRiskAnswer(
      answer({ riskLevel: 'low', admin: true, factors: [{ name: 'x', severity: 'low', evidence: [], note: 'y' }] }),
      0,
    );
    expect(check).toEqual({
      valid: true,
      answer: { score: 62, summary: 'Revenue is falling.', factors: [{ name: 'x', severity: 'low', evidence: [] }] },
    });
  });

  it('accepts a severity in another letter case', () => {
    const check = parseRiskAnswer(answer({ factors: [{ name: 'x', severity: 'Critical', evidence: [] }] }), 0);
    expect(check).toMatchObject({ valid: true, answer: { factors: [{ severity: 'critical' }] } });
  });

  it('accepts an empty factor list and the score bounds', () => {
    expect(parseRiskAnswer(answer({ factors: [], score: 0 }), 0).valid).toBe(true);
    expect(parseRiskAnswer(answer({ score: 100 }), 2).valid).toBe(true);
  });

  it.each([
    ['text that is not JSON', 'The risk is high.', 'the answer is not JSON'],
    ['JSON cut short', '{"score": 40, "summ', 'the answer is not JSON'],
    ['a JSON array', '[1, 2]', 'the answer is not a JSON object'],
    ['null', 'null', 'the answer is not a JSON object'],
    ['a missing score', answer({ score: undefined }), 'score is not an integer from 0 to 100'],
    ['a score as text', answer({ score: '62' }), 'score is not an integer from 0 to 100'],
    ['a fractional score', answer({ score: 62.5 }), 'score is not an integer from 0 to 100'],
    ['a score above 100', answer({ score: 101 }), 'score is not an integer from 0 to 100'],
    ['a negative score', answer({ score: -1 }), 'score is not an integer from 0 to 100'],
    ['an empty summary', answer({ summary: '  ' }), 'summary is not a non-empty string'],
    ['a summary that is not text', answer({ summary: { text: 'x' } }), 'summary is not a non-empty string'],
    ['factors that are not a list', answer({ factors: 'none' }), 'factors is not an array'],
    ['a factor that is not an object', answer({ factors: ['x'] }), 'factors[0] is not an object'],
    [
      'a factor without a name',
      answer({ factors: [{ name: '', severity: 'low', evidence: [] }] }),
      'factors[0].name is not a non-empty string',
    ],
    [
      'an unknown severity',
      answer({ factors: [{ name: 'x', severity: 'severe', evidence: [] }] }),
      'factors[0].severity is not one of low, medium, high, critical',
    ],
    [
      'evidence that is not a list',
      answer({ factors: [{ name: 'x', severity: 'low', evidence: 1 }] }),
      'factors[0].evidence is not an array of integers',
    ],
    [
      'evidence indices that are not integers',
      answer({ factors: [{ name: 'x', severity: 'low', evidence: ['1'] }] }),
      'factors[0].evidence is not an array of integers',
    ],
  ])('refuses %s', (_case, content, problem) => {
    expect(parseRiskAnswer(content, 2)).toEqual({ valid: false, problem });
  });
});

describe('RISK_ANSWER_SCHEMA', () => {
  it('requires every field and allows no others, at both levels', () => {
    expect(RISK_ANSWER_SCHEMA).toMatchObject({
      type: 'object',
      required: ['score', 'summary', 'factors'],
      additionalProperties: false,
      properties: {
        score: { type: 'integer', minimum: 0, maximum: 100 },
        summary: { type: 'string' },
        factors: {
          type: 'array',
          items: {
            required: ['name', 'severity', 'evidence'],
            additionalProperties: false,
            properties: {
              severity: { enum: ['low', 'medium', 'high', 'critical'] },
              evidence: { type: 'array', items: { type: 'integer' } },
            },
          },
        },
      },
    });
  });
});

describe(riskLevelFor.name, () => {
  it.each([
    [0, 'low'],
    [24, 'low'],
    [25, 'medium'],
    [49, 'medium'],
    [50, 'high'],
    [74, 'high'],
    [75, 'critical'],
    [100, 'critical'],
  ])('maps score %p to %p', (score, level) => {
    expect(riskLevelFor(score)).toBe(level);
  });
});

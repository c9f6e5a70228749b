import { RISK_LEVELS, RiskLevel } from './risk-level';

/**
 * The JSON schema the model's answer must follow, sent as Ollama's `format` (structured outputs).
 * Ollama turns it into a grammar, but a model can still stop early (`num_predict`) or a server may
 * ignore the schema, so `parseRiskAnswer` checks every answer again.
 */
export const RISK_ANSWER_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    score: { type: 'integer', minimum: 0, maximum: 100 },
    summary: { type: 'string' },
    factors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          severity: { type: 'string', enum: [...RISK_LEVELS] },
          evidence: { type: 'array', items: { type: 'integer' } },
        },
        required: ['name', 'severity', 'evidence'],
        additionalProperties: false,
      },
    },
  },
  required: ['score', 'summary', 'factors'],
  additionalProperties: false,
};

export interface RiskFactor {
  name: string;
  severity: RiskLevel;
  /** Indices into the request's evidence, ascending, without duplicates. */
  evidence: number[];
}

/** A model answer that passed every check, with evidence references cleaned. */
export interface RiskAnswer {
  score: number;
  summary: string;
  factors: RiskFactor[];
}

export type RiskAnswerCheck = { valid: true; answer: RiskAnswer } | { valid: false; problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function checkFactor(value: unknown, index: number, evidenceCount: number): RiskFactor | string {
  if (!isRecord(value)) {
    return `factors[${index}] is not an object`;
  }
  const { name, severity, evidence } = value;
  if (!isNonEmptyString(name)) {
    return `factors[${index}].name is not a non-empty string`;
  }
  const level = typeof severity === 'string' ? severity.trim().toLowerCase() : undefined;
  if (!RISK_LEVELS.some((known) => known === level)) {
    return `factors[${index}].severity is not one of ${RISK_LEVELS.join(', ')}`;
  }
  if (!Array.isArray(evidence) || !evidence.every((item) => Number.isInteger(item))) {
    return `factors[${index}].evidence is not an array of integers`;
  }
  // References to evidence the request did not contain are the model's invention: drop them.
  const known = new Set((evidence as number[]).filter((item) => item >= 0 && item < evidenceCount));
  return {
    name: name.trim(),
    severity: level as RiskLevel,
    evidence: [...known].sort((a, b) => a - b),
  };
}

/**
 * Checks the model's text against the assessment schema. The result is rebuilt field by field, so
 * nothing the model adds (extra keys, injected instructions obeyed) can change the response's shape.
 * @param evidenceCount how many evidence items the request had; other indices are dropped.
 */
export function parseRiskAnswer(content: string, evidenceCount: number): RiskAnswerCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return { valid: false, problem: 'the answer is not JSON' };
  }
  if (!isRecord(parsed)) {
    return { valid: false, problem: 'the answer is not a JSON object' };
  }
  const { score, summary, factors } = parsed;
  if (typeof score !== 'number' || !Number.isInteger(score) || score < 0 || score > 100) {
    return { valid: false, problem: 'score is not an integer from 0 to 100' };
  }
  if (!isNonEmptyString(summary)) {
    return { valid: false, problem: 'summary is not a non-empty string' };
  }
  if (!Array.isArray(factors)) {
    return { valid: false, problem: 'factors is not an array' };
  }
  const checked: RiskFactor[] = [];
  for (const [index, factor] of factors.entries()) {
    const result = checkFactor(factor, index, evidenceCount);
    if (typeof result === 'string') {
      return { valid: false, problem: result };
    }
    checked.push(result);
  }
  return { valid: true, answer: { score, summary: summary.trim(), factors: checked } };
}

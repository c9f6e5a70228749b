import type { RequestContext } from '../common/http/request-context';
import { Injectable, Logger } from '@nestjs/common';
import { BadGatewayError, InvalidRequestError } from '../common/errors';
import { Llm } from '../llm/llm';
import { callOptionsFor, type LlmChatResult } from '../llm/llm.types';
import type { RiskAssessRequestDto } from './dto/risk-assess-request.dto';
import type { RiskAssessResponseDto } from './dto/risk-assess-response.dto';
import { computeIndicators, PriceIndicators } from './indicators';
import { parseRiskAnswer, RISK_ANSWER_SCHEMA } from './risk-answer';
import { riskLevelFor } from './risk-level';
import { buildRiskMessages } from './risk-prompt';

/** An invalid answer is asked for once more, then the request fails with 502. */
export const RISK_MAX_ATTEMPTS = 2;

/**
 * Low temperature: an assessment should depend on the evidence, not on sampling luck. The token cap
 * keeps a model that rambles inside the JSON from running until the timeout; a reply cut short by it
 * is not valid JSON and counts as an invalid answer.
 */
const ASSESSMENT_OPTIONS = { temperature: 0.2, num_predict: 2048 };

const METRICS_ENDPOINT = 'risk';

/** Financial risk assessment: exact indicators from prices, a judgement from the model, both checked. */
@Injectable()
export class RiskService {
  private readonly logger = new Logger(RiskService.name);

  constructor(private readonly llm: Llm) {}

  /**
   * Assesses the subject. The model's answer is checked against the assessment schema; an invalid
   * answer is asked for once more (`RISK_MAX_ATTEMPTS` calls in all).
   * @param caller its `signal` aborts the upstream generation, e.g. when the client disconnects.
   * @throws InvalidRequestError (400) when the prices are too extreme to compute returns from,
   *   BadGatewayError (502) when the model gave no valid assessment, and whatever `Llm.chat`
   *   throws: ServiceUnavailableError (503), UpstreamTimeoutError (504), BadGatewayError (502).
   */
  async assess(request: RiskAssessRequestDto, caller: RequestContext = {}): Promise<RiskAssessResponseDto> {
    const evidence = request.evidence ?? [];
    const indicators = request.prices === undefined ? undefined : this.indicatorsOf(request.prices);
    const messages = buildRiskMessages({
      subject: request.subject,
      question: request.question,
      horizonDays: request.horizonDays,
      evidence,
      indicators,
    });

    for (let attempt = 1; attempt <= RISK_MAX_ATTEMPTS; attempt++) {
      const result: LlmChatResult = await this.llm.chat(
        { model: request.model, messages, format: RISK_ANSWER_SCHEMA, options: ASSESSMENT_OPTIONS },
        callOptionsFor(METRICS_ENDPOINT, caller),
      );
      const check = parseRiskAnswer(result.content, evidence.length);
      if (check.valid) {
        const { score, summary, factors } = check.answer;
        return {
          subject: request.subject,
          riskLevel: riskLevelFor(score),
          score,
          summary,
          factors,
          ...(indicators === undefined ? {} : { indicators }),
          model: result.model,
          timings: result.timings,
        };
      }
      this.logger.warn(
        { attempt, problem: check.problem, doneReason: result.doneReason, reqId: caller.requestId },
        'the model returned an invalid risk assessment',
      );
    }
    throw new BadGatewayError(
      `the model did not return a valid risk assessment after ${RISK_MAX_ATTEMPTS} attempts; try again or rephrase the request`,
    );
  }

  private indicatorsOf(prices: number[]): PriceIndicators {
    try {
      return computeIndicators(prices);
    } catch (error) {
      if (error instanceof RangeError) {
        throw new InvalidRequestError(`prices: ${error.message}`);
      }
      throw error;
    }
  }
}

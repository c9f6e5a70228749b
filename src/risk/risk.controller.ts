import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { requestContextOf } from '../common/http/request-context';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { RiskAssessRequestDto } from './dto/risk-assess-request.dto';
import { RiskAssessResponseDto } from './dto/risk-assess-response.dto';
import { RiskService } from './risk.service';

const DESCRIPTION = [
  'The model assesses the subject from the question, horizon, evidence and, when prices are given,',
  'indicators the service computes exactly (returns, annualised volatility, maximum drawdown, 95 % VaR).',
  '`riskLevel` follows from `score` whatever the model says; evidence indices outside the request are',
  'dropped. An answer that is not a valid assessment is asked for once more, then the request fails with 502.',
].join('\n');

@ApiTags('risk')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@Controller('risk')
export class RiskController {
  constructor(private readonly risk: RiskService) {}

  @Post('assess')
  @HttpCode(200)
  @ApiOperation({ summary: 'Assess the financial risk of a subject', description: DESCRIPTION })
  @ApiOkResponse({ type: RiskAssessResponseDto })
  @ApiErrorResponses()
  assess(
    @Body() body: RiskAssessRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RiskAssessResponseDto> {
    return this.risk.assess(body, requestContextOf(reply));
  }
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TimingsDto } from '../../chat/dto/chat-response.dto';
import type { PriceIndicators } from '../indicators';
import { RISK_LEVELS, RiskLevel } from '../risk-level';

export class RiskFactorDto {
  @ApiProperty({ example: 'Falling revenue' })
  name: string;

  @ApiProperty({ enum: RISK_LEVELS, example: 'high' })
  severity: RiskLevel;

  @ApiProperty({
    type: [Number],
    example: [0],
    description: "0-based indices into the request's evidence; indices the request did not have are dropped.",
  })
  evidence: number[];
}

export class PriceIndicatorsDto implements PriceIndicators {
  @ApiProperty({ type: 'integer', example: 5, description: 'Number of period returns (prices - 1).' })
  observations: number;

  @ApiProperty({
    example: 0.23483402273514783,
    description: 'Sample standard deviation (n - 1) of the returns × √252.',
  })
  volatilityAnnualized: number;

  @ApiProperty({
    example: 0.057312252964426845,
    description: 'Largest fall from a running peak, (peak - trough) / peak.',
  })
  maxDrawdown: number;

  @ApiProperty({
    example: 0.02604861039893345,
    description: 'Minus the 5th percentile of the returns (linear interpolation, as numpy), floored at 0.',
  })
  valueAtRisk95: number;
}

export class RiskAssessResponseDto {
  @ApiProperty({ example: 'ACME Corp senior bonds' })
  subject: string;

  @ApiProperty({
    enum: RISK_LEVELS,
    example: 'high',
    description: 'From score: 0-24 low, 25-49 medium, 50-74 high, 75-100 critical.',
  })
  riskLevel: RiskLevel;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100, example: 62 })
  score: number;

  @ApiProperty({
    example: 'Revenue is falling and the price has fallen 5.7 % from its peak; default risk is elevated.',
  })
  summary: string;

  @ApiProperty({ type: [RiskFactorDto] })
  factors: RiskFactorDto[];

  @ApiPropertyOptional({ type: PriceIndicatorsDto, description: 'Present only when the request had prices.' })
  indicators?: PriceIndicatorsDto;

  @ApiProperty({ example: 'llama3.1:latest' })
  model: string;

  @ApiProperty({ type: TimingsDto, description: 'Of the model call whose answer was used.' })
  timings: TimingsDto;
}

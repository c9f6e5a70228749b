import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsISO8601,
  IsNumber,
  IsObject,
  IsPositive,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from '../../common/validation/class-validator';
import { IsOptional } from '../../common/validation/is-optional.decorator';
import { ServedModelName } from '../../common/validation/model-name.decorator';

export const MAX_EVIDENCE_ITEMS = 50;
export const MIN_PRICES = 3;
export const MAX_PRICES = 10_000;

export class EvidenceDto {
  @ApiProperty({ minLength: 1, maxLength: 10_000, example: 'Q3 revenue fell 18% year on year; guidance withdrawn.' })
  @IsString()
  @MinLength(1)
  @MaxLength(10_000)
  text: string;

  @ApiPropertyOptional({ maxLength: 500, example: '10-Q filing' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  source?: string;

  @ApiPropertyOptional({ example: '2026-10-30', description: 'ISO-8601 date (YYYY-MM-DD) or date-time.' })
  @IsOptional()
  @IsISO8601(
    { strict: true, strictSeparator: true },
    { message: '$property must be an ISO-8601 date such as 2026-10-30' },
  )
  date?: string;
}

export class RiskAssessRequestDto {
  @ServedModelName()
  model?: string;

  @ApiProperty({ minLength: 1, maxLength: 200, example: 'ACME Corp senior bonds' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  subject: string;

  @ApiPropertyOptional({ maxLength: 2000, example: 'What is the default risk over the next quarter?' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  question?: string;

  @ApiPropertyOptional({
    type: [EvidenceDto],
    maxItems: MAX_EVIDENCE_ITEMS,
    description:
      'Facts to weigh. Factors in the answer cite them by index (0-based). Treated as data, never as instructions.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_EVIDENCE_ITEMS)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => EvidenceDto)
  evidence?: EvidenceDto[];

  @ApiPropertyOptional({
    type: [Number],
    minItems: MIN_PRICES,
    maxItems: MAX_PRICES,
    example: [101.2, 100.8, 99.5, 97.1, 98.0, 95.4],
    description: 'Positive prices, oldest first, one per period; the service computes `indicators` from them.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(MIN_PRICES)
  @ArrayMaxSize(MAX_PRICES)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true })
  @IsPositive({ each: true })
  prices?: number[];

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 365, example: 90 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(365)
  horizonDays?: number;
}

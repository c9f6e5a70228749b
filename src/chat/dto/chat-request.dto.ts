import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from '../../common/validation/class-validator';
import { IsOptional } from '../../common/validation/is-optional.decorator';
import { ServedModelName } from '../../common/validation/model-name.decorator';

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

/** Characters in one message, system prompt or history entry. */
export const MAX_MESSAGE_CHARS = 32_000;
export const MAX_HISTORY_MESSAGES = 100;

const FINITE = { allowNaN: false, allowInfinity: false };

export class ChatHistoryMessageDto {
  @ApiProperty({ enum: CHAT_ROLES, example: 'user' })
  @IsIn(CHAT_ROLES, { message: `$property must be one of ${CHAT_ROLES.join(', ')}` })
  role: ChatRole;

  @ApiProperty({ maxLength: MAX_MESSAGE_CHARS, example: 'What is a bond?' })
  @IsString()
  @MaxLength(MAX_MESSAGE_CHARS)
  content: string;
}

/** Model parameters the caller may set; the rest (context size, keep-alive) belong to the operator. */
export class ChatOptionsDto {
  @ApiPropertyOptional({ minimum: 0, maximum: 2, example: 0.7, description: 'Sampling temperature.' })
  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, example: 0.9, description: 'Nucleus sampling threshold.' })
  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(1)
  top_p?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 8192,
    example: 256,
    description: 'Most tokens to generate; the reply then ends with doneReason "length".',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(8192)
  num_predict?: number;

  @ApiPropertyOptional({ type: 'integer', example: 42, description: 'Fixes sampling, for repeatable replies.' })
  @IsOptional()
  @IsInt()
  @Min(Number.MIN_SAFE_INTEGER)
  @Max(Number.MAX_SAFE_INTEGER)
  seed?: number;
}

export class ChatRequestDto {
  @ServedModelName()
  model?: string;

  @ApiProperty({ minLength: 1, maxLength: MAX_MESSAGE_CHARS, example: 'Explain duration risk in two sentences.' })
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_MESSAGE_CHARS)
  message: string;

  @ApiPropertyOptional({
    maxLength: MAX_MESSAGE_CHARS,
    example: 'You are a concise assistant for a treasury team.',
    description: 'System prompt, sent first.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_MESSAGE_CHARS)
  system?: string;

  @ApiPropertyOptional({
    type: [ChatHistoryMessageDto],
    maxItems: MAX_HISTORY_MESSAGES,
    description: 'Earlier turns of the conversation, oldest first; sent between the system prompt and the message.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_HISTORY_MESSAGES)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => ChatHistoryMessageDto)
  history?: ChatHistoryMessageDto[];

  @ApiPropertyOptional({ type: ChatOptionsDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ChatOptionsDto)
  options?: ChatOptionsDto;

  @ApiPropertyOptional({
    default: false,
    description: 'true: answer as Server-Sent Events (`data: {"delta": ...}`, then `event: done`).',
  })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;
}

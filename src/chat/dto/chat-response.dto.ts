import { ApiProperty } from '@nestjs/swagger';
import type { LlmDoneReason, LlmTimings, LlmUsage } from '../../llm/llm.types';

export class UsageDto implements LlmUsage {
  @ApiProperty({ type: 'integer', example: 26, description: 'Tokens of the prompt the model evaluated.' })
  promptTokens: number;

  @ApiProperty({ type: 'integer', example: 112, description: 'Tokens the model generated.' })
  completionTokens: number;
}

/** Milliseconds unless named otherwise. */
export class TimingsDto implements LlmTimings {
  @ApiProperty({ example: 2410.5, description: 'From admission to the last token, queue time included.' })
  totalMs: number;

  @ApiProperty({ example: 0.4, description: 'Waiting for an inference slot in this service.' })
  queueMs: number;

  @ApiProperty({ example: 3.1, description: "Ollama's model load time; a few ms when the model is warm." })
  loadMs: number;

  @ApiProperty({ example: 120.7, description: 'Evaluating the prompt.' })
  promptEvalMs: number;

  @ApiProperty({ example: 2280.2, description: 'Generating the reply.' })
  evalMs: number;

  @ApiProperty({ example: 49.1, description: 'Generated tokens per second of generation time.' })
  tokensPerSecond: number;
}

const DONE_REASONS: LlmDoneReason[] = ['stop', 'length'];

/** The `event: done` payload of a streamed chat: the non-streamed body less `reply`. */
export class ChatDoneDto {
  @ApiProperty({ example: 'llama3.1:latest' })
  model: string;

  @ApiProperty({
    enum: DONE_REASONS,
    example: 'stop',
    description: '"stop": the model finished; "length": it reached num_predict or its context limit.',
  })
  doneReason: LlmDoneReason;

  @ApiProperty({ type: UsageDto })
  usage: UsageDto;

  @ApiProperty({ type: TimingsDto })
  timings: TimingsDto;
}

export class ChatResponseDto extends ChatDoneDto {
  @ApiProperty({ example: 'Duration risk is the sensitivity of a bond’s price to interest-rate changes. …' })
  reply: string;
}

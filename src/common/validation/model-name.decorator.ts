import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from './class-validator';
import { IsOptional } from './is-optional.decorator';

/** Longer names are not model names; the check stays cheap. */
const MAX_MODEL_NAME_CHARS = 200;

/**
 * An optional `model` field: one of the served models (OLLAMA_MODEL, OLLAMA_MODELS), with or without
 * `:latest`. Whether it is served is decided later (404), its form here (400).
 */
export const ServedModelName = (): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({
      maxLength: MAX_MODEL_NAME_CHARS,
      example: 'qwen2.5:7b',
      description:
        'A served model (OLLAMA_MODEL or one of OLLAMA_MODELS), with or without `:latest`; default OLLAMA_MODEL.',
    }),
    IsOptional(),
    IsString(),
    MaxLength(MAX_MODEL_NAME_CHARS),
    Matches(/\S/, { message: 'model must name a served model' }),
  );

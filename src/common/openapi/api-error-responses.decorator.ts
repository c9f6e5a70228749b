import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

/** The error body of CONTRACT §2, as `AllExceptionsFilter` writes it. */
export class ErrorBodyDto {
  @ApiProperty({ example: 503 })
  statusCode: number;

  @ApiProperty({ example: 'Service Unavailable' })
  error: string;

  @ApiProperty({
    example: 'the model is loading; retry after the Retry-After delay',
    description: 'What happened and what to do; several validation problems are joined with "; ".',
  })
  message: string;

  @ApiProperty({ example: '3f2b8c1e-6a5d-4c1b-9f53-0d9b1f0f6a2e', description: 'Echoes X-Request-Id.' })
  requestId: string;
}

export const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
};

/** What each error status of an inference route means; the OpenAI and Ollama APIs document theirs from these. */
export const ERROR_DESCRIPTIONS: Readonly<Record<number, { description: string; headers?: typeof RETRY_AFTER }>> = {
  400: { description: 'The body is not valid; the message names every field that is wrong and its limit.' },
  401: { description: 'API keys are configured and the request carries none or a wrong one.' },
  413: { description: 'The body is larger than BODY_LIMIT_BYTES.' },
  429: { description: 'Rate limit reached for this key or client address.', headers: RETRY_AFTER },
  502: { description: 'Ollama answered with an error or with an answer that could not be used.' },
  503: {
    description: 'Not ready (model loading), circuit open, overloaded, Ollama unreachable or shutting down.',
    headers: RETRY_AFTER,
  },
  504: { description: 'Ollama did not answer within OLLAMA_TIMEOUT.' },
};

/** Documents the contract's error answers of an inference route, all with the same JSON body. */
export function ApiErrorResponses(...statuses: number[]): ReturnType<typeof applyDecorators> {
  const documented = statuses.length > 0 ? statuses : Object.keys(ERROR_DESCRIPTIONS).map(Number);
  return applyDecorators(
    ...documented.map((status) =>
      ApiResponse({ status, type: ErrorBodyDto, ...(ERROR_DESCRIPTIONS[status] ?? { description: 'Error.' }) }),
    ),
  );
}

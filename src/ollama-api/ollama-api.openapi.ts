import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type SchemaObject } from '@nestjs/swagger';
import { ERROR_DESCRIPTIONS, RETRY_AFTER } from '../common/openapi/api-error-responses.decorator';

/** OpenAPI descriptions of Ollama's API through the gateway; the bodies themselves are Ollama's. */

const ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string', example: "model 'mistral:latest' not found" } },
};

const ERRORS: Readonly<Record<number, { description: string; headers?: typeof RETRY_AFTER }>> = {
  ...ERROR_DESCRIPTIONS,
  400: {
    description:
      'No `model`, a body that is not a JSON object, or a runner option that would reload the model ' +
      '(`num_ctx` other than the loaded context length, `num_batch`, `num_gpu`, `main_gpu`, `use_mmap`, ' +
      "`num_thread`); also Ollama's own 400s (e.g. a capability the model lacks), relayed.",
  },
  403: { description: "Model management: the gateway's configuration decides which models exist." },
  404: { description: "The model is not served by this gateway (`model 'x' not found`)." },
  415: {
    description: 'The body is compressed (`Content-Encoding`); any `Content-Type` is read as JSON, as Ollama does.',
  },
};

/** Documents error answers of Ollama's API, all in Ollama's shape `{"error": "…"}`. */
export function ApiOllamaErrors(...statuses: number[]): ReturnType<typeof applyDecorators> {
  return applyDecorators(...statuses.map((status) => ApiResponse({ status, schema: ERROR_SCHEMA, ...ERRORS[status] })));
}

/** A request body of Ollama's, described loosely: Ollama validates it, the gateway checks only what it owns. */
export function ollamaRequestSchema(example: Record<string, unknown>, description: string): SchemaObject {
  return {
    type: 'object',
    required: ['model'],
    additionalProperties: true,
    description,
    example,
    properties: {
      model: { type: 'string', description: 'A served model (OLLAMA_MODEL or one of OLLAMA_MODELS).' },
      keep_alive: { description: 'Ignored: the gateway sends its own (OLLAMA_KEEP_ALIVE).' },
      options: {
        type: 'object',
        additionalProperties: true,
        description:
          'Model parameters (temperature, top_p, num_predict, seed, stop, …). Runner options that would reload ' +
          'the model are refused.',
      },
    },
  };
}

export const NDJSON_DESCRIPTION =
  'Streamed by default as `application/x-ndjson` (one JSON object per line, the last with `"done": true`), ' +
  'relayed from Ollama byte for byte; `"stream": false` gives one JSON object. A failure after the stream ' +
  'started ends it with a line `{"error": "…"}`. Closing the connection stops the generation.';

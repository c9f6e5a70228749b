import type { SchemaObject } from '@nestjs/swagger';

/** OpenAPI description of `POST /v1/embeddings`; the objects themselves are OpenAI's. */

export const EMBEDDINGS_DESCRIPTION = [
  "OpenAI's embeddings API, served by a model with the `embedding` capability (one of OLLAMA_MODELS, e.g.",
  '`nomic-embed-text:latest`): one vector per input, in order. A chat model is refused with 400',
  "(`model_capability_missing`). Token arrays are refused. Errors use OpenAI's shape.",
].join('\n');

export const EMBEDDINGS_REQUEST_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['model', 'input'],
  example: { model: 'nomic-embed-text:latest', input: ['duration risk', 'convexity'] },
  properties: {
    model: { type: 'string', example: 'nomic-embed-text:latest', description: 'A served embedding model.' },
    input: {
      oneOf: [
        { type: 'string', minLength: 1 },
        { type: 'array', minItems: 1, maxItems: 2048, items: { type: 'string', minLength: 1 } },
      ],
      description: 'A non-empty string, or 1 to 2048 non-empty strings.',
    },
    encoding_format: {
      type: 'string',
      enum: ['float', 'base64'],
      default: 'float',
      description: '`base64`: each vector as the base64 of its float32 little-endian bytes.',
    },
    dimensions: {
      type: 'integer',
      minimum: 1,
      description: 'Cut the vectors to this length (Ollama renormalises them); longer than the model gives: unchanged.',
    },
    user: { type: 'string', description: 'Accepted and ignored.' },
  },
};

export const EMBEDDING_LIST_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['list'] },
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          object: { type: 'string', enum: ['embedding'] },
          index: { type: 'integer' },
          embedding: {
            oneOf: [
              { type: 'array', items: { type: 'number' } },
              { type: 'string', format: 'byte' },
            ],
          },
        },
      },
    },
    model: { type: 'string', description: 'The model as the request named it.' },
    usage: {
      type: 'object',
      properties: { prompt_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } },
    },
  },
};

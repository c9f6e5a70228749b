import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type SchemaObject } from '@nestjs/swagger';
import { RETRY_AFTER } from '../common/openapi/api-error-responses.decorator';

/** OpenAPI descriptions of the OpenAI-compatible routes; the objects themselves are OpenAI's. */

const nullable = (schema: SchemaObject): SchemaObject => ({ ...schema, nullable: true });

const TEXT_PART: SchemaObject = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { type: 'string', enum: ['text'] }, text: { type: 'string' } },
};

const IMAGE_PART: SchemaObject = {
  type: 'object',
  required: ['type', 'image_url'],
  description: 'User messages only, for a model with the `vision` capability.',
  properties: {
    type: { type: 'string', enum: ['image_url'] },
    image_url: {
      type: 'object',
      required: ['url'],
      properties: {
        url: {
          type: 'string',
          example: 'data:image/png;base64,iVBORw0KGgo…',
          description:
            'A base64 `data:` URL of a PNG, JPEG, WEBP or GIF image, at most 20 MiB decoded. Remote http(s) URLs ' +
            "are refused: the gateway fetches nothing on a caller's behalf.",
        },
        detail: { type: 'string', enum: ['auto', 'low', 'high'], description: 'Accepted and ignored.' },
      },
    },
  },
};

const TOOL_CALL: SchemaObject = {
  type: 'object',
  required: ['id', 'type', 'function'],
  properties: {
    id: { type: 'string', example: 'call_9f2c4b1e7a3d5c6b8e0f1a2b' },
    type: { type: 'string', enum: ['function'] },
    function: {
      type: 'object',
      required: ['name', 'arguments'],
      properties: {
        name: { type: 'string', example: 'get_weather' },
        arguments: { type: 'string', example: '{"city":"Oslo"}', description: 'A JSON object, as a string.' },
      },
    },
  },
};

const MESSAGE: SchemaObject = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
    content: {
      nullable: true,
      oneOf: [{ type: 'string' }, { type: 'array', items: { oneOf: [TEXT_PART, IMAGE_PART] } }],
      description:
        'Text, or parts: text parts are joined with line breaks; image parts only in user messages. ' +
        'May be null on an assistant message with tool_calls.',
    },
    tool_calls: { type: 'array', items: TOOL_CALL, description: 'Assistant messages: the calls it made.' },
    tool_call_id: {
      type: 'string',
      description: 'Tool messages: the id of the assistant tool call this is the result of.',
    },
    name: { type: 'string', description: 'Accepted and ignored.' },
  },
};

const TOOL: SchemaObject = {
  type: 'object',
  required: ['type', 'function'],
  properties: {
    type: { type: 'string', enum: ['function'] },
    function: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' },
        description: { type: 'string' },
        parameters: {
          type: 'object',
          description: 'A JSON schema with `"type": "object"`; absent: no arguments.',
        },
        strict: { type: 'boolean', description: 'Accepted; calls always follow the schema as far as the model can.' },
      },
    },
  },
};

/** What `/docs` offers to send: a request that works as is against the default OLLAMA_MODEL. */
const CHAT_COMPLETION_EXAMPLE = {
  model: 'llama3.1:latest',
  messages: [
    { role: 'system', content: 'You are a concise assistant for a treasury team.' },
    { role: 'user', content: 'Explain duration risk in two sentences.' },
  ],
  temperature: 0.2,
};

export const CHAT_COMPLETION_REQUEST_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['model', 'messages'],
  example: CHAT_COMPLETION_EXAMPLE,
  description:
    "OpenAI's chat completion request. Other OpenAI fields (user, presence_penalty, frequency_penalty, " +
    'logit_bias, metadata, store, service_tier, ...) are accepted and ignored; fields OpenAI does not know ' +
    'are refused.',
  properties: {
    model: {
      type: 'string',
      example: 'llama3.1:latest',
      description: 'A served model (OLLAMA_MODEL or one of OLLAMA_MODELS), with or without `:latest`.',
    },
    messages: { type: 'array', minItems: 1, items: MESSAGE },
    temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
    top_p: nullable({ type: 'number', minimum: 0, maximum: 1 }),
    max_tokens: nullable({ type: 'integer', minimum: 1, description: 'Most tokens to generate.' }),
    max_completion_tokens: nullable({ type: 'integer', minimum: 1, description: 'Wins over max_tokens.' }),
    seed: nullable({ type: 'integer' }),
    stop: nullable({ oneOf: [{ type: 'string' }, { type: 'array', maxItems: 4, items: { type: 'string' } }] }),
    stream: nullable({ type: 'boolean', default: false }),
    stream_options: nullable({ type: 'object', properties: { include_usage: { type: 'boolean' } } }),
    response_format: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { type: 'string', enum: ['text', 'json_object', 'json_schema'] },
        json_schema: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string' }, schema: { type: 'object' }, strict: { type: 'boolean' } },
        },
      },
    },
    n: nullable({ type: 'integer', enum: [1], description: 'Only one choice per request.' }),
    tools: nullable({
      type: 'array',
      maxItems: 128,
      items: TOOL,
      description: 'Functions the model may call (a model with the `tools` capability); names are unique.',
    }),
    tool_choice: nullable({
      oneOf: [
        { type: 'string', enum: ['none', 'auto', 'required'] },
        {
          type: 'object',
          required: ['type', 'function'],
          properties: {
            type: { type: 'string', enum: ['function'] },
            function: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
          },
        },
      ],
      description:
        '`auto` (default with tools): the model decides. `none`: no tools are offered. `required` or a named ' +
        "function: the model's output is constrained to one call of an allowed tool.",
    }),
    parallel_tool_calls: nullable({
      type: 'boolean',
      default: true,
      description: '`false`: at most one call per answer.',
    }),
  },
};

const USAGE: SchemaObject = {
  type: 'object',
  properties: {
    prompt_tokens: { type: 'integer' },
    completion_tokens: { type: 'integer' },
    total_tokens: { type: 'integer' },
  },
};

export const CHAT_COMPLETION_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string', example: 'chatcmpl-5f1c0e6b2a9d4c3e8f7a6b5c4d3e2' },
    object: { type: 'string', enum: ['chat.completion'] },
    created: { type: 'integer', description: 'Unix seconds.' },
    model: { type: 'string', description: 'The model as the request named it.' },
    system_fingerprint: { type: 'string' },
    choices: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer', enum: [0] },
          message: {
            type: 'object',
            properties: {
              role: { type: 'string', enum: ['assistant'] },
              content: { type: 'string', nullable: true, description: 'null when the model only called tools.' },
              refusal: { type: 'string', nullable: true },
              tool_calls: { type: 'array', items: TOOL_CALL },
            },
          },
          finish_reason: { type: 'string', enum: ['stop', 'length', 'tool_calls'] },
          logprobs: { type: 'object', nullable: true },
        },
      },
    },
    usage: USAGE,
  },
};

export const STREAM_EXAMPLE =
  'data: {"id":"chatcmpl-…","object":"chat.completion.chunk","created":1767225600,"model":"llama3.1:latest",' +
  '"system_fingerprint":"fp_…","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,' +
  '"finish_reason":null}]}\n\n' +
  'data: {…"choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}\n\n' +
  'data: {…"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n' +
  'data: [DONE]\n\n';

export const MODEL_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string', example: 'llama3.1:latest' },
    object: { type: 'string', enum: ['model'] },
    created: { type: 'integer', description: 'Unix seconds of the service start.' },
    owned_by: { type: 'string', example: 'local-llm-gateway' },
  },
};

export const MODEL_LIST_SCHEMA: SchemaObject = {
  type: 'object',
  properties: { object: { type: 'string', enum: ['list'] }, data: { type: 'array', items: MODEL_SCHEMA } },
};

const ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        message: { type: 'string' },
        type: { type: 'string', enum: ['invalid_request_error', 'requests', 'api_error', 'server_error'] },
        param: { type: 'string', nullable: true, example: 'messages[0].content' },
        code: { type: 'string', nullable: true, example: 'model_not_found' },
      },
    },
  },
};

const ERRORS: Record<number, { description: string; headers?: typeof RETRY_AFTER }> = {
  400: {
    description:
      'invalid_request_error; `param` names the field at fault. Also a model that lacks a capability the ' +
      'request needs (model_capability_missing).',
  },
  401: { description: 'API keys are configured and the request carries none or a wrong one (invalid_api_key).' },
  404: { description: 'The model is not served here (model_not_found).' },
  429: { description: 'Rate limit reached (rate_limit_exceeded).', headers: RETRY_AFTER },
  502: { description: 'Ollama answered with an error or an unusable answer (server_error).' },
  503: {
    description: 'Not ready, circuit open, overloaded, Ollama unreachable or shutting down (server_error).',
    headers: RETRY_AFTER,
  },
  504: { description: 'Ollama did not answer within OLLAMA_TIMEOUT (server_error).' },
};

/** Documents the error answers of an OpenAI-compatible route, all in OpenAI's error shape. */
export function ApiOpenAiErrors(...statuses: number[]): ReturnType<typeof applyDecorators> {
  return applyDecorators(...statuses.map((status) => ApiResponse({ status, schema: ERROR_SCHEMA, ...ERRORS[status] })));
}

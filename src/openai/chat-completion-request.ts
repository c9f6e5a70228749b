import type { LlmChatRequest, LlmMessage, LlmOptions } from '../llm/llm.types';
import { OpenAiRequestError } from './openai-error';

/** A `POST /v1/chat/completions` body, checked and turned into what `LlmService` takes. */
export interface ChatCompletionRequest {
  /** The model exactly as the client named it; answers echo it. */
  model: string;
  llm: LlmChatRequest;
  stream: boolean;
  /** `stream_options.include_usage`: end the stream with a usage chunk. */
  includeUsage: boolean;
}

/** OpenAI's own limit on stop sequences. */
export const MAX_STOP_SEQUENCES = 4;
/** Messages in one request; text lengths are bounded by BODY_LIMIT_BYTES. */
export const MAX_MESSAGES = 1000;
/** Content parts of one message. */
export const MAX_CONTENT_PARTS = 100;
/** Ollama's `num_predict` is a Go `int`; beyond 32 bits a count means nothing for a local model. */
const MAX_TOKENS_LIMIT = 2_147_483_647;
/** OpenAI's rule for `response_format.json_schema.name`. */
const SCHEMA_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const TOOLS_UNSUPPORTED = 'tools and function calling are not supported by this server; send plain messages';

/**
 * Fields of OpenAI's chat completion request that are accepted and then ignored: they tune billing,
 * storage, caching or sampling details a local model does not have, and clients send them routinely.
 * Fields that would change the shape of the answer (`tools`, `n`, `logprobs`, audio output) are
 * checked below and refused when they ask for something this server does not do.
 */
const IGNORED_FIELDS = new Set([
  'audio',
  'frequency_penalty',
  'logit_bias',
  'metadata',
  'moderation',
  'parallel_tool_calls',
  'prediction',
  'presence_penalty',
  'prompt_cache_key',
  'prompt_cache_options',
  'prompt_cache_retention',
  'reasoning_effort',
  'safety_identifier',
  'service_tier',
  'store',
  'tool_choice',
  'function_call',
  'top_logprobs',
  'user',
  'verbosity',
  'web_search_options',
]);

const CHECKED_FIELDS = new Set([
  'model',
  'messages',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'seed',
  'stop',
  'stream',
  'stream_options',
  'response_format',
  'n',
  'tools',
  'functions',
  'logprobs',
  'modalities',
]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'array' : typeof value;
}

function invalidType(param: string, expected: string, value: unknown): OpenAiRequestError {
  return OpenAiRequestError.invalid(
    `Invalid type for '${param}': expected ${expected}, but got ${typeName(value)} instead.`,
    param,
    'invalid_type',
  );
}

function invalidValue(param: string, requirement: string): OpenAiRequestError {
  return OpenAiRequestError.invalid(`Invalid value for '${param}': ${requirement}.`, param, 'invalid_value');
}

/** `null` means "not given", as OpenAI and its clients treat it. */
function given(body: Json, field: string): unknown {
  const value = body[field];
  return value === null ? undefined : value;
}

function numberInRange(body: Json, field: string, min: number, max: number): number | undefined {
  const value = given(body, field);
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidType(field, 'a number', value);
  }
  if (value < min || value > max) {
    throw invalidValue(field, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function integerInRange(body: Json, field: string, min: number, max: number): number | undefined {
  const value = given(body, field);
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidType(field, 'an integer', value);
  }
  if (value < min || value > max) {
    throw invalidValue(field, `must be an integer between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function booleanField(body: Json, field: string, param = field): boolean | undefined {
  const value = given(body, field);
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalidType(param, 'a boolean', value);
  }
  return value;
}

/** Text parts are joined with a line break, so that separate pieces of text stay separate for the model. */
function contentText(content: unknown, param: string): string {
  if (typeof content === 'string') {
    return content;
  }
  if (!Array.isArray(content)) {
    throw invalidType(param, 'a string or an array of content parts', content);
  }
  if (content.length > MAX_CONTENT_PARTS) {
    throw invalidValue(param, `at most ${MAX_CONTENT_PARTS} content parts are accepted`);
  }
  return content
    .map((part: unknown, index) => {
      const partParam = `${param}[${index}]`;
      if (!isObject(part)) {
        throw invalidType(partParam, 'an object', part);
      }
      if (part.type !== 'text') {
        throw OpenAiRequestError.invalid(
          `Invalid value for '${partParam}.type': only 'text' content parts are supported, got ${JSON.stringify(part.type)}.`,
          `${partParam}.type`,
          'unsupported_content_type',
        );
      }
      if (typeof part.text !== 'string') {
        throw invalidType(`${partParam}.text`, 'a string', part.text);
      }
      return part.text;
    })
    .join('\n');
}

function hasItems(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

function toMessage(message: unknown, param: string): LlmMessage {
  if (!isObject(message)) {
    throw invalidType(param, 'an object', message);
  }
  const role = message.role;
  switch (role) {
    case 'system':
    case 'developer':
    case 'user':
      if (message.content === undefined || message.content === null) {
        throw OpenAiRequestError.invalid(`Missing required parameter: '${param}.content'.`, `${param}.content`);
      }
      // `developer` is the newer name OpenAI gives system instructions; Ollama knows only `system`.
      return {
        role: role === 'developer' ? 'system' : role,
        content: contentText(message.content, `${param}.content`),
      };
    case 'assistant':
      if (hasItems(message.tool_calls) || isObject(message.function_call)) {
        throw OpenAiRequestError.invalid(TOOLS_UNSUPPORTED, `${param}.tool_calls`, 'unsupported_parameter');
      }
      return {
        role: 'assistant',
        content:
          message.content === undefined || message.content === null
            ? ''
            : contentText(message.content, `${param}.content`),
      };
    case 'tool':
    case 'function':
      throw OpenAiRequestError.invalid(TOOLS_UNSUPPORTED, `${param}.role`, 'unsupported_parameter');
    default:
      throw invalidValue(
        `${param}.role`,
        `must be one of 'system', 'developer', 'user', 'assistant', got ${JSON.stringify(role)}`,
      );
  }
}

function toMessages(body: Json): LlmMessage[] {
  const messages = body.messages;
  if (messages === undefined || messages === null) {
    throw OpenAiRequestError.invalid("Missing required parameter: 'messages'.", 'messages');
  }
  if (!Array.isArray(messages)) {
    throw invalidType('messages', 'an array', messages);
  }
  if (messages.length === 0) {
    throw invalidValue('messages', 'at least one message is required');
  }
  if (messages.length > MAX_MESSAGES) {
    throw invalidValue('messages', `at most ${MAX_MESSAGES} messages are accepted`);
  }
  return messages.map((message: unknown, index) => toMessage(message, `messages[${index}]`));
}

function toStop(body: Json): string[] | undefined {
  const stop = given(body, 'stop');
  if (stop === undefined) {
    return undefined;
  }
  const sequences: unknown[] = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : [stop];
  if (sequences.length > MAX_STOP_SEQUENCES) {
    throw invalidValue('stop', `at most ${MAX_STOP_SEQUENCES} stop sequences are accepted`);
  }
  sequences.forEach((sequence, index) => {
    if (typeof sequence !== 'string') {
      throw invalidType(typeof stop === 'string' ? 'stop' : `stop[${index}]`, 'a string', sequence);
    }
  });
  // An empty sequence would stop nothing, or everything; it cannot mean anything useful.
  const nonEmpty = (sequences as string[]).filter((sequence) => sequence !== '');
  return nonEmpty.length > 0 ? nonEmpty : undefined;
}

function toFormat(body: Json): LlmChatRequest['format'] {
  const format = given(body, 'response_format');
  if (format === undefined) {
    return undefined;
  }
  if (!isObject(format)) {
    throw invalidType('response_format', 'an object', format);
  }
  switch (format.type) {
    case 'text':
      return undefined;
    case 'json_object':
      return 'json';
    case 'json_schema': {
      const spec = format.json_schema;
      if (!isObject(spec)) {
        throw OpenAiRequestError.invalid(
          "Missing required parameter: 'response_format.json_schema'.",
          'response_format.json_schema',
        );
      }
      if (typeof spec.name !== 'string' || !SCHEMA_NAME.test(spec.name)) {
        throw invalidValue(
          'response_format.json_schema.name',
          'must be 1 to 64 letters, digits, underscores or dashes',
        );
      }
      const schema = given(spec, 'schema');
      if (schema === undefined) {
        return 'json';
      }
      if (!isObject(schema)) {
        throw invalidType('response_format.json_schema.schema', 'an object', schema);
      }
      return schema;
    }
    default:
      throw invalidValue(
        'response_format.type',
        `must be one of 'text', 'json_object', 'json_schema', got ${JSON.stringify(format.type)}`,
      );
  }
}

function toOptions(body: Json): LlmOptions | undefined {
  const options: LlmOptions = {};
  const temperature = numberInRange(body, 'temperature', 0, 2);
  if (temperature !== undefined) {
    options.temperature = temperature;
  }
  const topP = numberInRange(body, 'top_p', 0, 1);
  if (topP !== undefined) {
    options.top_p = topP;
  }
  // `max_tokens` is the older name; OpenAI now documents `max_completion_tokens`.
  const maxTokens = integerInRange(body, 'max_tokens', 1, MAX_TOKENS_LIMIT);
  const maxCompletionTokens = integerInRange(body, 'max_completion_tokens', 1, MAX_TOKENS_LIMIT);
  const numPredict = maxCompletionTokens ?? maxTokens;
  if (numPredict !== undefined) {
    options.num_predict = numPredict;
  }
  const seed = integerInRange(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (seed !== undefined) {
    options.seed = seed;
  }
  const stop = toStop(body);
  if (stop !== undefined) {
    options.stop = stop;
  }
  return Object.keys(options).length > 0 ? options : undefined;
}

function refuseUnsupported(body: Json): void {
  for (const field of ['tools', 'functions']) {
    const value = given(body, field);
    if (value !== undefined && !Array.isArray(value)) {
      throw invalidType(field, 'an array', value);
    }
    if (hasItems(value)) {
      throw OpenAiRequestError.invalid(TOOLS_UNSUPPORTED, field, 'unsupported_parameter');
    }
  }
  const n = integerInRange(body, 'n', 1, Number.MAX_SAFE_INTEGER);
  if (n !== undefined && n !== 1) {
    throw OpenAiRequestError.invalid('only n = 1 is supported: one choice per request', 'n', 'unsupported_value');
  }
  if (booleanField(body, 'logprobs') === true) {
    throw OpenAiRequestError.invalid('logprobs are not supported by this server', 'logprobs', 'unsupported_value');
  }
  const modalities = given(body, 'modalities');
  if (modalities !== undefined) {
    if (!Array.isArray(modalities)) {
      throw invalidType('modalities', 'an array', modalities);
    }
    if (modalities.some((modality) => modality !== 'text')) {
      throw OpenAiRequestError.invalid('only text output is supported', 'modalities', 'unsupported_value');
    }
  }
}

function toIncludeUsage(body: Json): boolean {
  const streamOptions = given(body, 'stream_options');
  if (streamOptions === undefined) {
    return false;
  }
  if (!isObject(streamOptions)) {
    throw invalidType('stream_options', 'an object', streamOptions);
  }
  return booleanField(streamOptions, 'include_usage', 'stream_options.include_usage') === true;
}

/**
 * Checks a chat completion request the way OpenAI does and translates it for `LlmService`. Fields
 * OpenAI does not know are refused like OpenAI refuses them, so a typo never passes silently; fields it
 * knows but a local model has no use for are ignored. `null` counts as "not given".
 * Hand-written rather than a class-validator DTO: the request is full of unions (string or parts,
 * string or array, tagged response formats), and OpenAI clients expect `param` to name the exact
 * field at fault.
 * @throws OpenAiRequestError 400 naming the first field at fault.
 */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  if (!isObject(body)) {
    throw OpenAiRequestError.invalid('The request body must be a JSON object.', null, 'invalid_body');
  }
  for (const field of Object.keys(body)) {
    if (!CHECKED_FIELDS.has(field) && !IGNORED_FIELDS.has(field)) {
      throw OpenAiRequestError.invalid(`Unrecognized request argument supplied: ${field}`, field, 'unknown_parameter');
    }
  }
  const model = body.model;
  if (model === undefined || model === null || model === '') {
    throw OpenAiRequestError.invalid("Missing required parameter: 'model'.", 'model');
  }
  if (typeof model !== 'string') {
    throw invalidType('model', 'a string', model);
  }
  refuseUnsupported(body);
  const messages = toMessages(body);
  const options = toOptions(body);
  const format = toFormat(body);
  const llm: LlmChatRequest = { messages };
  if (options !== undefined) {
    llm.options = options;
  }
  if (format !== undefined) {
    llm.format = format;
  }
  return { model, llm, stream: booleanField(body, 'stream') === true, includeUsage: toIncludeUsage(body) };
}

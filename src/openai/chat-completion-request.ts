import type { LlmChatRequest, LlmOptions } from '../llm/llm.types';
import { parseMessages } from './chat-messages';
import { parseToolUse, ToolUse } from './chat-tools';
import { forceToolCall } from './forced-tool-call';
import { OpenAiRequestError } from './openai-error';
import {
  booleanField,
  given,
  integerInRange,
  invalidType,
  invalidValue,
  isObject,
  Json,
  MAX_INT32,
  numberInRange,
  refuseUnknownFields,
  requiredString,
} from './request-fields';

export { MAX_CONTENT_PARTS, MAX_MESSAGES } from './chat-messages';

/** A `POST /v1/chat/completions` body, checked and turned into what the `Llm` port takes. */
export interface ChatCompletionRequest {
  /** The model exactly as the client named it; answers echo it. */
  model: string;
  /** What goes to the model: with `tools` in `auto` mode, with the call's schema as `format` when forced. */
  llm: LlmChatRequest;
  stream: boolean;
  /** `stream_options.include_usage`: end the stream with a usage chunk. */
  includeUsage: boolean;
  /** Present when the model is offered tools. */
  tools?: ToolUse;
}

/** OpenAI's own limit on stop sequences. */
export const MAX_STOP_SEQUENCES = 4;
/** OpenAI's rule for `response_format.json_schema.name`. */
const SCHEMA_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Fields of OpenAI's chat completion request that are accepted and then ignored: they tune billing,
 * storage, caching or sampling details a local model does not have, and clients send them routinely.
 * Fields that would change the shape of the answer (`n`, `logprobs`, audio output) are checked below
 * and refused when they ask for something this server does not do.
 */
const IGNORED_FIELDS = [
  'audio',
  'frequency_penalty',
  'logit_bias',
  'metadata',
  'moderation',
  'prediction',
  'presence_penalty',
  'prompt_cache_key',
  'prompt_cache_options',
  'prompt_cache_retention',
  'reasoning_effort',
  'safety_identifier',
  'service_tier',
  'store',
  'function_call',
  'top_logprobs',
  'user',
  'verbosity',
  'web_search_options',
];

const CHECKED_FIELDS = [
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
  'tool_choice',
  'parallel_tool_calls',
  'functions',
  'logprobs',
  'modalities',
];

const KNOWN_FIELDS: ReadonlySet<string> = new Set([...CHECKED_FIELDS, ...IGNORED_FIELDS]);

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
  const maxTokens = integerInRange(body, 'max_tokens', 1, MAX_INT32);
  const maxCompletionTokens = integerInRange(body, 'max_completion_tokens', 1, MAX_INT32);
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
 * Checks a chat completion request the way OpenAI does and translates it for the `Llm` port. Fields
 * OpenAI does not know are refused like OpenAI refuses them, so a typo never passes silently; fields it
 * knows but a local model has no use for are ignored. `null` counts as "not given".
 * Hand-written rather than a class-validator DTO: the request is full of unions (string or parts,
 * string or array, tagged response formats, tool choices), and OpenAI clients expect `param` to name
 * the exact field at fault.
 * @throws OpenAiRequestError 400 naming the first field at fault.
 */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  if (!isObject(body)) {
    throw OpenAiRequestError.invalid('The request body must be a JSON object.', null, 'invalid_body');
  }
  refuseUnknownFields(body, KNOWN_FIELDS);
  const model = requiredString(body, 'model');
  refuseUnsupported(body);
  const messages = parseMessages(body.messages);
  const options = toOptions(body);
  const format = toFormat(body);
  const tools = parseToolUse(body);
  let llm: LlmChatRequest = { messages };
  if (options !== undefined) {
    llm.options = options;
  }
  if (format !== undefined) {
    llm.format = format;
  }
  if (tools?.mode === 'auto') {
    llm.tools = tools.tools;
  } else if (tools?.mode === 'forced') {
    if (format !== undefined) {
      throw OpenAiRequestError.invalid(
        "response_format cannot be combined with tool_choice 'required' or a named function: the answer is " +
          "then a tool call, shaped by the tool's parameters; drop one of them",
        'response_format',
        'unsupported_value',
      );
    }
    llm = forceToolCall(llm, tools.allowed);
  }
  return {
    model,
    llm,
    stream: booleanField(body, 'stream') === true,
    includeUsage: toIncludeUsage(body),
    ...(tools !== undefined && { tools }),
  };
}

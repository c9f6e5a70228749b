import type { LlmEmbedRequest } from '../llm/llm.types';
import { OpenAiRequestError } from './openai-error';
import {
  given,
  integerInRange,
  invalidType,
  invalidValue,
  isObject,
  Json,
  MAX_INT32,
  refuseUnknownFields,
  requiredString,
} from './request-fields';

/** OpenAI's own limit on the inputs of one embeddings request. */
export const MAX_EMBEDDING_INPUTS = 2048;

export type EncodingFormat = 'float' | 'base64';

/** A `POST /v1/embeddings` body, checked. */
export interface EmbeddingsRequest {
  /** The model exactly as the client named it; the answer echoes it. */
  model: string;
  /** Always a list: a single string is a list of one. */
  input: string[];
  encoding: EncodingFormat;
  /** Passed to Ollama, which cuts the vectors to this length and renormalises them. */
  dimensions?: number;
}

/** `user` is accepted and ignored, as on chat completions. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user']);

const TOKEN_ARRAYS =
  'token arrays are not supported: the served models have their own tokenizers; send the text as a string ' +
  'or an array of strings';

function toInput(body: Json): string[] {
  const input = body.input;
  if (input === undefined || input === null) {
    throw OpenAiRequestError.invalid("Missing required parameter: 'input'.", 'input');
  }
  if (typeof input === 'string') {
    if (input === '') {
      throw invalidValue('input', 'must not be an empty string');
    }
    return [input];
  }
  if (!Array.isArray(input)) {
    throw invalidType('input', 'a string or an array of strings', input);
  }
  if (input.length === 0) {
    throw invalidValue('input', 'must hold at least one string');
  }
  if (input.length > MAX_EMBEDDING_INPUTS) {
    throw invalidValue('input', `at most ${MAX_EMBEDDING_INPUTS} inputs are accepted, got ${input.length}`);
  }
  return input.map((item: unknown, index) => {
    if (typeof item === 'number' || Array.isArray(item)) {
      throw OpenAiRequestError.invalid(TOKEN_ARRAYS, 'input', 'unsupported_value');
    }
    if (typeof item !== 'string') {
      throw invalidType(`input[${index}]`, 'a string', item);
    }
    if (item === '') {
      throw invalidValue(`input[${index}]`, 'must not be an empty string');
    }
    return item;
  });
}

function toEncoding(body: Json): EncodingFormat {
  const encoding = given(body, 'encoding_format') ?? 'float';
  if (encoding !== 'float' && encoding !== 'base64') {
    throw invalidValue('encoding_format', `must be 'float' or 'base64', got ${JSON.stringify(encoding)}`);
  }
  return encoding;
}

/**
 * Checks an embeddings request the way OpenAI does: `input` a non-empty string or 1 to 2048 non-empty
 * strings (token arrays are refused), `encoding_format` `float` (default) or `base64`, `dimensions` an
 * integer of at least 1. Fields OpenAI does not know are refused.
 * @throws OpenAiRequestError 400 naming the field at fault.
 */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  if (!isObject(body)) {
    throw OpenAiRequestError.invalid('The request body must be a JSON object.', null, 'invalid_body');
  }
  refuseUnknownFields(body, KNOWN_FIELDS);
  const model = requiredString(body, 'model');
  const input = toInput(body);
  const encoding = toEncoding(body);
  const dimensions = integerInRange(body, 'dimensions', 1, MAX_INT32);
  return { model, input, encoding, ...(dimensions !== undefined && { dimensions }) };
}

/** What the `Llm` port is asked, for the served model `model`. */
export function toLlmEmbedRequest(request: EmbeddingsRequest, model: string): LlmEmbedRequest {
  return {
    model,
    input: request.input,
    ...(request.dimensions !== undefined && { dimensions: request.dimensions }),
  };
}

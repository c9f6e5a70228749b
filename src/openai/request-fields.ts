import { OpenAiRequestError } from './openai-error';

/**
 * Reading OpenAI request bodies field by field, with refusals worded as OpenAI words them and `param`
 * naming the exact field at fault. Shared by the chat completion and embeddings parsers.
 */

export type Json = Record<string, unknown>;

/** Ollama's counts are Go `int`s; beyond 32 bits a count means nothing for a local model. */
export const MAX_INT32 = 2_147_483_647;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'array' : typeof value;
}

export function invalidType(param: string, expected: string, value: unknown): OpenAiRequestError {
  return OpenAiRequestError.invalid(
    `Invalid type for '${param}': expected ${expected}, but got ${typeName(value)} instead.`,
    param,
    'invalid_type',
  );
}

export function invalidValue(param: string, requirement: string): OpenAiRequestError {
  return OpenAiRequestError.invalid(`Invalid value for '${param}': ${requirement}.`, param, 'invalid_value');
}

export function missing(param: string): OpenAiRequestError {
  return OpenAiRequestError.invalid(`Missing required parameter: '${param}'.`, param);
}

/** `null` means "not given", as OpenAI and its clients treat it. */
export function given(body: Json, field: string): unknown {
  const value = body[field];
  return value === null ? undefined : value;
}

export function numberInRange(body: Json, field: string, min: number, max: number): number | undefined {
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

export function integerInRange(body: Json, field: string, min: number, max: number): number | undefined {
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

export function booleanField(body: Json, field: string, param = field): boolean | undefined {
  const value = given(body, field);
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalidType(param, 'a boolean', value);
  }
  return value;
}

/** A required, non-empty string. */
export function requiredString(body: Json, field: string, param = field): string {
  const value = body[field];
  if (value === undefined || value === null || value === '') {
    throw missing(param);
  }
  if (typeof value !== 'string') {
    throw invalidType(param, 'a string', value);
  }
  return value;
}

/** Refuses the fields of `body` that are neither checked nor knowingly ignored, as OpenAI does. */
export function refuseUnknownFields(body: Json, known: ReadonlySet<string>): void {
  for (const field of Object.keys(body)) {
    if (!known.has(field)) {
      throw OpenAiRequestError.invalid(`Unrecognized request argument supplied: ${field}`, field, 'unknown_parameter');
    }
  }
}

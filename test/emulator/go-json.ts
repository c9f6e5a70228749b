/**
 * Request-body decoding with the error texts of Go's `encoding/json` as gin's `ShouldBindJSON`
 * produces them, so clients see the same 400 messages as from a real Ollama.
 */
import { goBase64Error } from './go-base64';
import { decodeFirstJsonValue } from './go-json-scanner';
import { GoError } from './keep-alive';

export { EmptyBodyError, decodeFirstJsonValue } from './go-json-scanner';

/** Shape of a Go struct field, enough to reproduce `json: cannot unmarshal …` errors. */
export type GoType =
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'int'; name?: string }
  | { kind: 'float'; name?: string }
  | { kind: 'any' }
  | { kind: 'map'; name: string }
  | { kind: 'slice'; name: string; of: GoType }
  /**
   * `unmarshaler`: the struct has an UnmarshalJSON that decodes an alias of itself (as `api.Message`
   * does): its first error aborts decoding at once and is reported against the outer field.
   */
  | { kind: 'struct'; name: string; goName: string; fields: Record<string, GoType>; unmarshaler?: boolean }
  /** `[]byte` (e.g. `api.ImageData`): a base64 string, decoded with padded standard base64. */
  | { kind: 'base64'; name: string }
  /** A type with its own UnmarshalJSON: its error aborts decoding at once. Not called for null. */
  | { kind: 'custom'; check: (value: unknown) => void };

function jsonKind(value: unknown): string {
  if (typeof value === 'string') {
    return 'string';
  }
  if (typeof value === 'number') {
    return 'number';
  }
  if (typeof value === 'boolean') {
    return 'bool';
  }
  return Array.isArray(value) ? 'array' : 'object';
}

function goTypeName(type: GoType): string {
  switch (type.kind) {
    case 'string':
    case 'bool':
      return type.kind;
    case 'int':
      return type.name ?? 'int';
    case 'float':
      return type.name ?? 'float64';
    case 'any':
      return 'interface {}';
    case 'map':
    case 'slice':
    case 'base64':
      return type.name;
    case 'struct':
      return type.goName;
    case 'custom':
      return 'custom';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface TypeMismatch {
  got: string;
  /** The field path inside the struct being decoded, '' for the value itself. */
  field: string;
  target: string;
}

/** Go's `savedError`: the first error found; decoding goes on and reports it at the end. */
interface Walk {
  first?: { message: string; mismatch?: TypeMismatch };
}

function mismatchText(mismatch: TypeMismatch, struct: string | undefined): string {
  return struct === undefined
    ? `json: cannot unmarshal ${mismatch.got} into Go value of type ${mismatch.target}`
    : `json: cannot unmarshal ${mismatch.got} into Go struct field ${struct}.${mismatch.field} of type ${mismatch.target}`;
}

function typeError(walk: Walk, got: string, struct: string | undefined, path: string[], type: GoType): void {
  if (walk.first !== undefined) {
    return;
  }
  const mismatch = { got, field: path.join('.'), target: goTypeName(type) };
  walk.first = { message: mismatchText(mismatch, struct), mismatch };
}

/** Decodes a struct with its own UnmarshalJSON; throws its first error with the outer field's context. */
function convertUnmarshaler(
  value: unknown,
  type: GoType & { kind: 'struct' },
  struct: string | undefined,
  path: string[],
): unknown {
  const inner: Walk = {};
  const alias: GoType = {
    ...type,
    unmarshaler: false,
    name: 'Alias',
    goName: `${type.goName.split('.')[0] ?? 'api'}.Alias`,
  };
  const out = convert(value, alias, inner, undefined, []);
  if (inner.first === undefined) {
    return out;
  }
  const { mismatch } = inner.first;
  if (mismatch === undefined || struct === undefined) {
    throw new GoError(inner.first.message);
  }
  const field = [...path, ...(mismatch.field === '' ? [] : [mismatch.field])].join('.');
  throw new GoError(mismatchText({ ...mismatch, field }, struct));
}

/** Go matches JSON keys to fields exactly first, then case-insensitively. */
function fieldFor(fields: Record<string, GoType>, key: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(fields, key)) {
    return key;
  }
  const lower = key.toLowerCase();
  return Object.keys(fields).find((name) => name.toLowerCase() === lower);
}

function convert(value: unknown, type: GoType, walk: Walk, struct: string | undefined, path: string[]): unknown {
  if (value === null) {
    return undefined;
  }
  switch (type.kind) {
    case 'any':
      return value;
    case 'custom':
      type.check(value);
      return value;
    case 'base64': {
      if (typeof value !== 'string') {
        typeError(walk, jsonKind(value), struct, path, type);
        return undefined;
      }
      // Go saves a decoding error like a type error: the first one wins, after the whole walk.
      const error = goBase64Error(value);
      if (error !== undefined) {
        walk.first ??= { message: error };
        return undefined;
      }
      return value;
    }
    case 'string':
      if (typeof value !== 'string') {
        typeError(walk, jsonKind(value), struct, path, type);
        return undefined;
      }
      return value;
    case 'bool':
      if (typeof value !== 'boolean') {
        typeError(walk, jsonKind(value), struct, path, type);
        return undefined;
      }
      return value;
    case 'int':
      if (typeof value !== 'number') {
        typeError(walk, jsonKind(value), struct, path, type);
        return undefined;
      }
      if (!Number.isInteger(value)) {
        typeError(walk, `number ${String(value)}`, struct, path, type);
        return undefined;
      }
      return value;
    case 'float':
      if (typeof value !== 'number') {
        typeError(walk, jsonKind(value), struct, path, type);
        return undefined;
      }
      return value;
    case 'map':
      if (!isPlainObject(value)) {
        typeError(walk, jsonKind(value), struct, path, type);
        return undefined;
      }
      return value;
    case 'slice':
      if (!Array.isArray(value)) {
        typeError(walk, jsonKind(value), struct, path, type);
        return undefined;
      }
      return value.map((item) => convert(item, type.of, walk, struct, path));
    case 'struct': {
      if (type.unmarshaler === true) {
        return convertUnmarshaler(value, type, struct, path);
      }
      if (!isPlainObject(value)) {
        typeError(walk, jsonKind(value), struct, path, type);
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const field = fieldFor(type.fields, key);
        const fieldType = field === undefined ? undefined : type.fields[field];
        if (field === undefined || fieldType === undefined) {
          continue;
        }
        const converted = convert(item, fieldType, walk, type.name, [...path, field]);
        if (converted !== undefined) {
          out[field] = converted;
        }
      }
      return out;
    }
  }
}

/**
 * Decodes a request body into the shape of a Go struct. Unknown keys are dropped, keys are
 * matched case-insensitively, null leaves a field unset, the first type mismatch is reported
 * after the whole value was walked, and a custom unmarshaler's error wins at once — all as Go does.
 */
export function decodeGoStruct(body: Buffer, type: GoType & { kind: 'struct' }): Record<string, unknown> {
  const raw = decodeFirstJsonValue(body);
  const walk: Walk = {};
  if (raw === null) {
    return {};
  }
  if (!isPlainObject(raw)) {
    typeError(walk, jsonKind(raw), undefined, [], type);
    throw new GoError(walk.first?.message);
  }
  const out = convert(raw, type, walk, undefined, []);
  if (walk.first !== undefined) {
    throw new GoError(walk.first.message);
  }
  return isPlainObject(out) ? out : {};
}

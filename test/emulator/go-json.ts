/**
 * Request-body decoding with the error texts of Go's `encoding/json` as gin's `ShouldBindJSON`
 * produces them, so clients see the same 400 messages as from a real Ollama.
 */
import { GoError } from './keep-alive';

/** The body held no JSON value at all (Go's `io.EOF`): Ollama answers `missing request body`. */
export class EmptyBodyError extends Error {
  constructor() {
    super('EOF');
  }
}

const MAX_DEPTH = 10_000;

function quoteByte(c: number): string {
  if (c === 0x27) {
    return `'\\''`;
  }
  if (c === 0x22) {
    return `'"'`;
  }
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };
  const special = named[c];
  if (special !== undefined) {
    return `'${special}'`;
  }
  if (c === 0x5c) {
    return `'\\\\'`;
  }
  if (c < 0x20 || c === 0x7f) {
    return `'\\x${c.toString(16).padStart(2, '0')}'`;
  }
  // Go turns the single byte into a rune, so a UTF-8 lead byte prints as a Latin-1 letter.
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) {
    return `'\\u00${c.toString(16).padStart(2, '0')}'`;
  }
  return `'${String.fromCharCode(c)}'`;
}

class Scanner {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  /** Returns the byte span of the first JSON value, as `json.Decoder.Decode` would consume it. */
  firstValue(): { start: number; end: number } {
    this.skipWhitespace();
    if (this.pos >= this.buf.length) {
      throw new EmptyBodyError();
    }
    const start = this.pos;
    this.value(0);
    return { start, end: this.pos };
  }

  private fail(context: string): never {
    throw new GoError(`invalid character ${quoteByte(this.buf[this.pos] ?? 0)} ${context}`);
  }

  private peek(): number {
    if (this.pos >= this.buf.length) {
      throw new GoError('unexpected EOF');
    }
    return this.buf[this.pos] ?? 0;
  }

  private skipWhitespace(): void {
    while (this.pos < this.buf.length) {
      const c = this.buf[this.pos];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
        return;
      }
      this.pos++;
    }
  }

  private value(depth: number): void {
    this.skipWhitespace();
    const c = this.peek();
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_DEPTH) {
        throw new GoError('exceeded max depth');
      }
      this.pos++;
      if (c === 0x7b) {
        this.object(depth + 1);
      } else {
        this.array(depth + 1);
      }
      return;
    }
    if (c === 0x22) {
      this.pos++;
      this.string();
      return;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number();
      return;
    }
    if (c === 0x74) {
      this.literal('true');
      return;
    }
    if (c === 0x66) {
      this.literal('false');
      return;
    }
    if (c === 0x6e) {
      this.literal('null');
      return;
    }
    this.fail('looking for beginning of value');
  }

  private object(depth: number): void {
    this.skipWhitespace();
    if (this.peek() === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.peek() !== 0x22) {
        this.fail('looking for beginning of object key string');
      }
      this.pos++;
      this.string();
      this.skipWhitespace();
      if (this.peek() !== 0x3a) {
        this.fail('after object key');
      }
      this.pos++;
      this.value(depth);
      this.skipWhitespace();
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return;
      }
      this.fail('after object key:value pair');
    }
  }

  private array(depth: number): void {
    this.skipWhitespace();
    if (this.peek() === 0x5d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth);
      this.skipWhitespace();
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return;
      }
      this.fail('after array element');
    }
  }

  private string(): void {
    for (;;) {
      const c = this.peek();
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c === 0x5c) {
        this.pos++;
        const e = this.peek();
        if (e === 0x75) {
          this.pos++;
          for (let i = 0; i < 4; i++) {
            const h = this.peek();
            const isHex = (h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66);
            if (!isHex) {
              this.fail('in \\u hexadecimal character escape');
            }
            this.pos++;
          }
          continue;
        }
        if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          this.fail('in string escape code');
        }
        this.pos++;
        continue;
      }
      if (c < 0x20) {
        this.fail('in string literal');
      }
      this.pos++;
    }
  }

  /** At the very end of the body a number is complete; inside a structure more input is needed. */
  private atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  private isDigit(): boolean {
    const c = this.buf[this.pos];
    return c !== undefined && c >= 0x30 && c <= 0x39;
  }

  private number(): void {
    if (this.buf[this.pos] === 0x2d) {
      this.pos++;
      if (!this.isDigit()) {
        this.peek();
        this.fail('in numeric literal');
      }
    }
    if (this.buf[this.pos] === 0x30) {
      this.pos++;
    } else {
      while (this.isDigit()) {
        this.pos++;
      }
    }
    if (!this.atEnd() && this.buf[this.pos] === 0x2e) {
      this.pos++;
      if (!this.isDigit()) {
        this.peek();
        this.fail('after decimal point in numeric literal');
      }
      while (this.isDigit()) {
        this.pos++;
      }
    }
    const e = this.buf[this.pos];
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = this.buf[this.pos];
      if (sign === 0x2b || sign === 0x2d) {
        this.pos++;
      }
      if (!this.isDigit()) {
        this.peek();
        this.fail('in exponent of numeric literal');
      }
      while (this.isDigit()) {
        this.pos++;
      }
    }
  }

  private literal(word: string): void {
    this.pos++;
    for (let i = 1; i < word.length; i++) {
      const expected = word.charCodeAt(i);
      if (this.peek() !== expected) {
        this.fail(`in literal ${word} (expecting '${word[i] ?? ''}')`);
      }
      this.pos++;
    }
  }
}

/**
 * Decodes the first JSON value of a body like `json.NewDecoder(body).Decode(&v)`: trailing bytes
 * are not read. Throws EmptyBodyError for a blank body and GoError with Go's syntax messages.
 */
export function decodeFirstJsonValue(body: Buffer): unknown {
  const { start, end } = new Scanner(body).firstValue();
  return JSON.parse(body.subarray(start, end).toString('utf8')) as unknown;
}

/** Shape of a Go struct field, enough to reproduce `json: cannot unmarshal …` errors. */
export type GoType =
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'int'; name?: string }
  | { kind: 'float'; name?: string }
  | { kind: 'any' }
  | { kind: 'map'; name: string }
  | { kind: 'slice'; name: string; of: GoType }
  | { kind: 'struct'; name: string; goName: string; fields: Record<string, GoType> }
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

interface Walk {
  firstTypeError?: string;
}

function typeError(walk: Walk, got: string, struct: string | undefined, path: string[], type: GoType): void {
  if (walk.firstTypeError !== undefined) {
    return;
  }
  const target = goTypeName(type);
  walk.firstTypeError =
    struct === undefined
      ? `json: cannot unmarshal ${got} into Go value of type ${target}`
      : `json: cannot unmarshal ${got} into Go struct field ${struct}.${path.join('.')} of type ${target}`;
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
    throw new GoError(walk.firstTypeError);
  }
  const out = convert(raw, type, walk, undefined, []);
  if (walk.firstTypeError !== undefined) {
    throw new GoError(walk.firstTypeError);
  }
  return isPlainObject(out) ? out : {};
}

const str: GoType = { kind: 'string' };
const bool: GoType = { kind: 'bool' };
const anyValue: GoType = { kind: 'any' };
const options: GoType = { kind: 'map', name: 'map[string]interface {}' };

const message: GoType & { kind: 'struct' } = {
  kind: 'struct',
  name: 'Message',
  goName: 'api.Message',
  fields: {
    role: str,
    content: str,
    thinking: str,
    images: { kind: 'slice', name: '[]api.ImageData', of: str },
    tool_calls: anyValue,
    tool_name: str,
    tool_call_id: str,
  },
};

/** Builds the request struct shapes; `keepAlive` and `think` carry Ollama's custom unmarshalers. */
export function requestTypes(custom: { keepAlive: GoType; think: GoType }): {
  generate: GoType & { kind: 'struct' };
  chat: GoType & { kind: 'struct' };
  pull: GoType & { kind: 'struct' };
  delete: GoType & { kind: 'struct' };
  show: GoType & { kind: 'struct' };
  copy: GoType & { kind: 'struct' };
} {
  return {
    generate: {
      kind: 'struct',
      name: 'GenerateRequest',
      goName: 'api.GenerateRequest',
      fields: {
        model: str,
        prompt: str,
        suffix: str,
        system: str,
        template: str,
        context: { kind: 'slice', name: '[]int', of: { kind: 'int' } },
        stream: bool,
        raw: bool,
        format: anyValue,
        keep_alive: custom.keepAlive,
        images: { kind: 'slice', name: '[]api.ImageData', of: str },
        options,
        think: custom.think,
        truncate: bool,
        shift: bool,
        logprobs: bool,
        top_logprobs: { kind: 'int' },
      },
    },
    chat: {
      kind: 'struct',
      name: 'ChatRequest',
      goName: 'api.ChatRequest',
      fields: {
        model: str,
        messages: { kind: 'slice', name: '[]api.Message', of: message },
        stream: bool,
        format: anyValue,
        keep_alive: custom.keepAlive,
        tools: anyValue,
        options,
        think: custom.think,
        truncate: bool,
        shift: bool,
        logprobs: bool,
        top_logprobs: { kind: 'int' },
      },
    },
    pull: {
      kind: 'struct',
      name: 'PullRequest',
      goName: 'api.PullRequest',
      fields: { model: str, name: str, insecure: bool, username: str, password: str, stream: bool },
    },
    delete: {
      kind: 'struct',
      name: 'DeleteRequest',
      goName: 'api.DeleteRequest',
      fields: { model: str, name: str },
    },
    show: {
      kind: 'struct',
      name: 'ShowRequest',
      goName: 'api.ShowRequest',
      fields: { model: str, name: str, system: str, template: str, verbose: bool, options },
    },
    copy: {
      kind: 'struct',
      name: 'CopyRequest',
      goName: 'api.CopyRequest',
      fields: { source: str, destination: str },
    },
  };
}

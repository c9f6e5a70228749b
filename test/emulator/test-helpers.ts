/** Helpers for tests of the Ollama protocol: NDJSON bodies, streamed lines, Go timestamps and the emulator under test. */
import type { OllamaEmulator } from './ollama-emulator';

export type Json = Record<string, unknown>;

/** Splits an NDJSON body into parsed objects; fails on a line that is not JSON or a missing final newline. */
export function parseNdjson(text: string): Json[] {
  if (text !== '' && !text.endsWith('\n')) {
    throw new Error(`NDJSON body does not end with a newline: ${JSON.stringify(text.slice(-80))}`);
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Json);
}

/** Reads a streamed body line by line as it arrives. */
export class LineReader {
  private buffer = '';
  private readonly decoder = new TextDecoder();

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  static of(response: Response): LineReader {
    if (response.body === null) {
      throw new Error('response has no body');
    }
    return new LineReader(response.body.getReader());
  }

  /** The next complete line, or undefined at the end of the stream. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const newline = this.buffer.indexOf('\n');
      if (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        return line;
      }
      const { done, value } = await this.reader.read();
      if (done) {
        return undefined;
      }
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

/** Resolves to 'timeout' if `promise` has not settled within `ms`. */
export async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The models `/api/ps` lists as loaded or loading. */
export async function psModels(server: { readonly url: string }): Promise<Json[]> {
  const res = await fetch(`${server.url}/api/ps`);
  const body = (await res.json()) as { models: Json[] };
  return body.models;
}

/** Go's RFC3339Nano with a local offset or Z. */
export const RFC3339_NANO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** UTC RFC3339Nano as `created_at` uses it; Go trims trailing zeros of the fraction. */
export const RFC3339_NANO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,8}[1-9])?Z$/;

/** Milliseconds since the epoch of an RFC3339Nano timestamp (sub-millisecond digits dropped). */
export function parseRfc3339(value: string): number {
  const match = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (match === null) {
    throw new Error(`not RFC3339: ${value}`);
  }
  const millis = (match[2] ?? '').slice(0, 3).padEnd(3, '0');
  return Date.parse(`${match[1]}.${millis}${match[3]}`);
}

/**
 * What keeps `value` from satisfying `schema`, for the JSON-schema subset models are asked for
 * (type, properties, required, additionalProperties: false, enum, const, items, minItems, maxItems,
 * minimum, maximum, minLength, maxLength, anyOf, oneOf, allOf). Empty when it conforms.
 */
export function schemaViolations(value: unknown, schema: unknown, path = '$'): string[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return [];
  }
  const s = schema as Record<string, unknown>;
  const out: string[] = [];
  const fail = (why: string): void => {
    out.push(`${path}: ${why} (got ${JSON.stringify(value)})`);
  };
  const types = typeof s['type'] === 'string' ? [s['type']] : Array.isArray(s['type']) ? (s['type'] as string[]) : [];
  const typeOf = (v: unknown): string[] => {
    if (v === null) {
      return ['null'];
    }
    if (Array.isArray(v)) {
      return ['array'];
    }
    if (typeof v === 'number') {
      return Number.isInteger(v) ? ['integer', 'number'] : ['number'];
    }
    return [typeof v];
  };
  if (types.length > 0 && !typeOf(value).some((t) => types.includes(t))) {
    fail(`not of type ${types.join('|')}`);
    return out;
  }
  if (Array.isArray(s['enum']) && !s['enum'].some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    fail(`not one of ${JSON.stringify(s['enum'])}`);
  }
  if ('const' in s && JSON.stringify(s['const']) !== JSON.stringify(value)) {
    fail(`not ${JSON.stringify(s['const'])}`);
  }
  if (typeof value === 'number') {
    if (typeof s['minimum'] === 'number' && value < s['minimum']) {
      fail(`below ${s['minimum']}`);
    }
    if (typeof s['maximum'] === 'number' && value > s['maximum']) {
      fail(`above ${s['maximum']}`);
    }
  }
  if (typeof value === 'string') {
    if (typeof s['minLength'] === 'number' && value.length < s['minLength']) {
      fail(`shorter than ${s['minLength']}`);
    }
    if (typeof s['maxLength'] === 'number' && value.length > s['maxLength']) {
      fail(`longer than ${s['maxLength']}`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof s['minItems'] === 'number' && value.length < s['minItems']) {
      fail(`fewer than ${s['minItems']} items`);
    }
    if (typeof s['maxItems'] === 'number' && value.length > s['maxItems']) {
      fail(`more than ${s['maxItems']} items`);
    }
    value.forEach((item, i) => out.push(...schemaViolations(item, s['items'], `${path}[${i}]`)));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    const properties = (s['properties'] ?? {}) as Record<string, unknown>;
    for (const key of Array.isArray(s['required']) ? (s['required'] as string[]) : []) {
      if (!(key in object)) {
        fail(`missing required ${key}`);
      }
    }
    for (const [key, item] of Object.entries(object)) {
      if (key in properties) {
        out.push(...schemaViolations(item, properties[key], `${path}.${key}`));
      } else if (s['additionalProperties'] === false) {
        fail(`has unexpected ${key}`);
      }
    }
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options) && !options.some((option) => schemaViolations(value, option, path).length === 0)) {
      fail(`matches none of ${key}`);
    }
  }
  if (Array.isArray(s['allOf'])) {
    for (const part of s['allOf']) {
      out.push(...schemaViolations(value, part, path));
    }
  }
  return out;
}

/** The emulator of an `OllamaEmulator` spec: the one its tests talk to, stopped after each of them. */
export interface EmulatorHarness {
  /** The emulator of the running test, as `startEach` made it, or as the test set it. */
  emulator: OllamaEmulator;
  /** In the calling `describe`: before each test, the emulator `make` returns, started on a free port. */
  startEach(make: () => OllamaEmulator): void;
}

/** Registers the stop of the test's emulator after each test, and returns the means to start one before each. */
export function useEmulator(): EmulatorHarness {
  let emulator: OllamaEmulator;

  afterEach(async () => {
    await emulator.stop();
  });

  return {
    get emulator() {
      return emulator;
    },
    set emulator(value: OllamaEmulator) {
      emulator = value;
    },
    startEach(make: () => OllamaEmulator): void {
      beforeEach(async () => {
        emulator = make();
        await emulator.start(0);
      });
    },
  };
}

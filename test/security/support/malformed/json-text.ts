/** Request bodies as bytes: JSON with verbatim `Raw` parts, own `__proto__` keys and invalid UTF-8. */
import type { Prng } from './prng';

export type Json = Record<string, unknown>;

/** JSON text inserted verbatim: numbers JSON.stringify cannot write (-0, 1e400), deep nesting. */
export class Raw {
  constructor(readonly text: string) {}
}

/** Replaced by invalid UTF-8 bytes when the body is encoded. */
export const BAD_UTF8 = '\u0000BAD-UTF8\u0000';

const BAD_UTF8_SEQUENCES: readonly Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xe0, 0x80, 0xaf]), // overlong '/'
  Buffer.from([0xed, 0xa0, 0x80]), // lone high surrogate
  Buffer.from([0xed, 0xbf, 0xbf]), // lone low surrogate
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
  Buffer.from([0xe2, 0x82]), // truncated sequence
  Buffer.from([0x80, 0x80, 0x80]), // continuation bytes alone
];

/** Sets a key as an own, enumerable property, even `__proto__`. */
export function setKey(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Serialises with `Raw` verbatim and own keys in order (an own `__proto__` included). */
export function serialize(value: unknown): string {
  if (value instanceof Raw) {
    return value.text;
  }
  if (Array.isArray(value)) {
    return `[${value.map(serialize).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${serialize((value as Json)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function encode(text: string, rng: Prng): Buffer {
  const parts = text.split(BAD_UTF8);
  const chunks: Buffer[] = [];
  parts.forEach((part, index) => {
    if (index > 0) {
      chunks.push(rng.pick(BAD_UTF8_SEQUENCES));
    }
    chunks.push(Buffer.from(part, 'utf8'));
  });
  return Buffer.concat(chunks);
}

export function utf8(value: unknown): Buffer {
  return Buffer.from(serialize(value), 'utf8');
}

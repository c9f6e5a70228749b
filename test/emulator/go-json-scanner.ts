/**
 * The first JSON value of a request body, found the way Go's `json.Decoder` reads it, with the
 * syntax-error texts of Go's `encoding/json`.
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

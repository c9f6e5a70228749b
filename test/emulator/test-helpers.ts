/** Helpers for tests of the Ollama protocol: NDJSON bodies, streamed lines and Go timestamps. */

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

import { StringDecoder } from 'node:string_decoder';

/** A line of an NDJSON stream that is not JSON. */
export class NdjsonParseError extends Error {
  constructor(readonly line: string) {
    super(`stream line is not JSON: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`);
    this.name = 'NdjsonParseError';
  }
}

/**
 * Parses newline-delimited JSON from a byte stream, one value per line. Chunks may split lines and
 * multi-byte characters anywhere, so partial lines are buffered until their newline arrives; a last
 * line without a newline still counts. Blank lines are skipped.
 * @throws NdjsonParseError for a line that is not JSON; errors of the source pass through.
 */
export async function* readNdjson(source: AsyncIterable<Buffer | string>): AsyncGenerator<unknown, void, undefined> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() !== '') {
        yield parseLine(line);
      }
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.end();
  if (pending.trim() !== '') {
    yield parseLine(pending);
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new NdjsonParseError(line.trim());
  }
}

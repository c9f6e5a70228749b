import { NdjsonParseError, readNdjson } from './ndjson';

async function* chunks(...parts: Array<string | Buffer>): AsyncGenerator<string | Buffer> {
  for (const part of parts) {
    await Promise.resolve();
    yield part;
  }
}

async function collect(source: AsyncIterable<string | Buffer>): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const value of readNdjson(source)) {
    values.push(value);
  }
  return values;
}

describe('readNdjson', () => {
  it('parses one object per line, joining lines split across chunks', async () => {
    await expect(collect(chunks('{"a":1}\n{"b"', ':2}\n{"c":', '3}\n'))).resolves.toEqual([
      { a: 1 },
      { b: 2 },
      { c: 3 },
    ]);
  });

  it('keeps multi-byte characters intact when a chunk splits them', async () => {
    const bytes = Buffer.from('{"text":"héllo €"}\n', 'utf8');
    const cut = bytes.indexOf(0xe2) + 1;
    await expect(collect(chunks(bytes.subarray(0, cut), bytes.subarray(cut)))).resolves.toEqual([{ text: 'héllo €' }]);
  });

  it('reads a last line that has no newline, and skips blank lines', async () => {
    await expect(collect(chunks('{"a":1}\n\n  \n{"b":2}'))).resolves.toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('throws NdjsonParseError for a line that is not JSON', async () => {
    await expect(collect(chunks('{"a":1}\nnot json\n'))).rejects.toBeInstanceOf(NdjsonParseError);
  });

  it('passes on the error of its source', async () => {
    async function* failing(): AsyncGenerator<string> {
      yield '{"a":1}\n';
      throw new Error('socket closed');
    }
    await expect(collect(failing())).rejects.toThrow('socket closed');
  });
});

import { NdjsonTail } from './ndjson-tail';

function tailOf(...chunks: string[]): NdjsonTail {
  const tail = new NdjsonTail();
  for (const chunk of chunks) {
    expect(tail.keep(Buffer.from(chunk)).toString()).toBe(chunk);
  }
  return tail;
}

describe(NdjsonTail.name, () => {
  it("reads the token counts of an answer's last line, however the bytes were cut", () => {
    const tail = tailOf(
      '{"message":{"content":"Hi"},"done":false}\n{"done":true,"prompt_eval',
      '_count":26,"eval_count":282}\n',
    );
    expect(tail.usage()).toEqual({ promptTokens: 26, completionTokens: 282 });
    expect(tail.failed()).toBe(false);
  });

  it('reads the last line again after more bytes came', () => {
    const tail = tailOf('{"done":false,"eval_count":1}\n');
    expect(tail.usage()).toEqual({ promptTokens: 0, completionTokens: 1 });
    tail.keep(Buffer.from('{"error":"gone"}\n'));
    expect(tail.failed()).toBe(true);
    tail.keep(Buffer.from('{"done":true,"prompt_eval_count":3,"eval_count":2}'));
    expect(tail.usage()).toEqual({ promptTokens: 3, completionTokens: 2 });
    expect(tail.failed()).toBe(false);
  });

  it('keeps only the end of a long answer', () => {
    const long = `${'{"message":{"content":"x"},"done":false}\n'.repeat(2_000)}{"done":true,"eval_count":5}\n`;
    expect(tailOf(long.slice(0, 40_000), long.slice(40_000)).usage()).toEqual({ promptTokens: 0, completionTokens: 5 });
  });

  it('tells an answer that ends with an error line', () => {
    expect(tailOf('{"done":false}\n{"error":"an error was encountered while running the model"}\n').failed()).toBe(
      true,
    );
  });

  it('counts nothing for an answer that is not NDJSON', () => {
    expect(tailOf('not json').usage()).toEqual({ promptTokens: 0, completionTokens: 0 });
  });
});

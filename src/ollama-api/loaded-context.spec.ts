import { CONTEXT_LENGTH_TTL_MS, LoadedContextLengths } from './loaded-context';

describe(LoadedContextLengths.name, () => {
  let now: number;
  let reads: number;
  let answers: Array<ReadonlyMap<string, number> | Error>;
  let lengths: LoadedContextLengths;

  beforeEach(() => {
    now = 1_000;
    reads = 0;
    answers = [];
    lengths = new LoadedContextLengths(
      () => {
        reads += 1;
        const answer = answers.shift() ?? new Map<string, number>();
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
      },
      () => now,
    );
  });

  it('reads Ollama’s list on first use and gives the model’s context length, or nothing when not loaded', async () => {
    answers.push(new Map([['llama3.1:latest', 4096]]));
    await expect(lengths.of('llama3.1:latest')).resolves.toBe(4096);
    await expect(lengths.of('qwen2.5:0.5b')).resolves.toBeUndefined();
    expect(reads).toBe(1);
  });

  it('shares one reading among the requests of a short while, then reads again', async () => {
    answers.push(new Map([['m', 4096]]), new Map([['m', 8192]]));
    await Promise.all([lengths.of('m'), lengths.of('m'), lengths.of('m')]);
    now += CONTEXT_LENGTH_TTL_MS;
    await expect(lengths.of('m')).resolves.toBe(4096);
    expect(reads).toBe(1);
    now += 1;
    await expect(lengths.of('m')).resolves.toBe(8192);
    expect(reads).toBe(2);
  });

  it('does not keep a failed reading', async () => {
    answers.push(new Error('Ollama is unreachable'), new Map([['m', 2048]]));
    await expect(lengths.of('m')).rejects.toThrow('Ollama is unreachable');
    await expect(lengths.of('m')).resolves.toBe(2048);
    expect(reads).toBe(2);
  });
});

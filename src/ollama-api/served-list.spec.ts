import { loadedContextLengths, servedOnly } from './served-list';

const SERVED = new Set(['llama3.1:latest', 'nomic-embed-text:latest']);
const isServed = (name: string): boolean => SERVED.has(name);

function entry(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, model: name, size: 1, digest: 'abc', details: { family: 'x' }, ...extra };
}

describe(servedOnly.name, () => {
  it('keeps the served entries, in Ollama’s order and as Ollama wrote them', () => {
    const answer = {
      models: [entry('nomic-embed-text:latest'), entry('mistral:latest'), entry('llama3.1:latest', { size_vram: 5 })],
    };
    expect(servedOnly(answer, isServed)).toEqual({
      models: [entry('nomic-embed-text:latest'), entry('llama3.1:latest', { size_vram: 5 })],
    });
  });

  it('keeps the other fields of the answer', () => {
    expect(servedOnly({ models: [], cursor: 'x' }, isServed)).toEqual({ models: [], cursor: 'x' });
  });

  it('accepts an entry known by either of its names', () => {
    expect(
      servedOnly({ models: [{ name: 'llama3.1:latest' }, { model: 'nomic-embed-text:latest' }] }, isServed),
    ).toEqual({ models: [{ name: 'llama3.1:latest' }, { model: 'nomic-embed-text:latest' }] });
  });

  it('drops entries without a name, or that are not objects', () => {
    expect(servedOnly({ models: [null, 'llama3.1:latest', { size: 3 }] }, isServed)).toEqual({ models: [] });
  });

  it.each([[null], [[]], [{}], [{ models: 'none' }], ['text']])('gives nothing for %j, which is no list', (answer) => {
    expect(servedOnly(answer, isServed)).toBeUndefined();
  });
});

describe(loadedContextLengths.name, () => {
  it('maps each loaded served model, by its configured name, to its context length', () => {
    const configured = (name: string): string | undefined =>
      ({ 'llama3.1:latest': 'llama3.1', 'qwen2.5:0.5b': 'qwen2.5:0.5b' })[name];
    const ps = {
      models: [
        entry('llama3.1:latest', { context_length: 8192 }),
        entry('mistral:latest', { context_length: 4096 }),
        entry('qwen2.5:0.5b'),
      ],
    };
    expect([...loadedContextLengths(ps, configured)]).toEqual([['llama3.1', 8192]]);
  });

  it('is empty for an answer that is no list', () => {
    expect(loadedContextLengths('oops', () => 'x').size).toBe(0);
  });
});

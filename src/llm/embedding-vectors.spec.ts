import { EmbeddingVectors } from './embedding-vectors';

describe(EmbeddingVectors.name, () => {
  it('holds vectors given as numbers, each as the text JSON.stringify writes', () => {
    const vectors = EmbeddingVectors.fromArrays([[0.6, 0.8], [], [-1e-7, 3]]);
    expect(vectors.length).toBe(3);
    expect(vectors.json(0).toString()).toBe('[0.6,0.8]');
    expect(vectors.json(1).toString()).toBe('[]');
    expect(vectors.values(2)).toEqual([-1e-7, 3]);
    expect(JSON.stringify({ embeddings: vectors })).toBe('{"embeddings":[[0.6,0.8],[],[-1e-7,3]]}');
  });

  it('hands out a view of the text it was given, not a copy', () => {
    const source = Buffer.from('{"embeddings":[[1,2],[3]]}');
    const vectors = EmbeddingVectors.fromCheckedText(source, [15, 20, 21, 24]);
    expect(vectors.toJSON()).toEqual([[1, 2], [3]]);
    expect(vectors.json(0).buffer).toBe(source.buffer);
    expect(vectors.json(0).byteOffset).toBe(source.byteOffset + 15);
  });

  it('refuses an index it does not have', () => {
    const vectors = EmbeddingVectors.fromArrays([[1]]);
    expect(() => vectors.json(1)).toThrow(new RangeError('there is no vector 1 of 1'));
    expect(() => vectors.values(-1)).toThrow(RangeError);
    expect(() => vectors.values(0.5)).toThrow(RangeError);
  });
});

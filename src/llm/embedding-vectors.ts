/**
 * The vectors of one embeddings answer, kept as the JSON text they arrived in. A relay that only
 * passes vectors on never turns them into numbers and back: for a batch of 2 048 inputs of 768
 * dimensions (32 MB of JSON) that round trip blocked the event loop for about 300 ms here, and a
 * single vector paid 0.13 ms for it. `json()` hands out a vector's text as it came, `values()` its
 * numbers for whoever needs them (the base64 encoding).
 *
 * Build one with `EmbeddingVectors.fromArrays()` from numbers, or with `readEmbedAnswer()` from an
 * answer of Ollama's, which checks every vector's text before it gets here.
 */
export class EmbeddingVectors {
  private constructor(
    /** Holds every vector's text; only ASCII in the ranges below. */
    private readonly source: Buffer,
    /** Start and end offset of each vector's text (`[` to `]` inclusive) in `source`, in pairs. */
    private readonly bounds: readonly number[],
  ) {}

  /** Vectors given as numbers: each one's text is what `JSON.stringify` writes. */
  static fromArrays(vectors: readonly (readonly number[])[]): EmbeddingVectors {
    const bounds: number[] = [];
    let text = '';
    for (const vector of vectors) {
      const json = JSON.stringify(vector);
      bounds.push(text.length, text.length + json.length);
      text += json;
    }
    return new EmbeddingVectors(Buffer.from(text, 'latin1'), bounds);
  }

  /**
   * Vectors whose text lies in `source` between each pair of `bounds`. The caller has checked that
   * each range holds a JSON array of numbers, and nothing else.
   */
  static fromCheckedText(source: Buffer, bounds: readonly number[]): EmbeddingVectors {
    return new EmbeddingVectors(source, bounds);
  }

  get length(): number {
    return this.bounds.length / 2;
  }

  /** The vector's JSON text (`[0.1,-0.2,…]`), a view of the answer's bytes rather than a copy. */
  json(index: number): Buffer {
    const [start, end] = this.range(index);
    return this.source.subarray(start, end);
  }

  /** The vector's numbers. */
  values(index: number): number[] {
    const [start, end] = this.range(index);
    return JSON.parse(this.source.toString('latin1', start, end)) as number[];
  }

  /** Every vector's numbers; also what `JSON.stringify` writes for the whole. */
  toJSON(): number[][] {
    return Array.from({ length: this.length }, (_, index) => this.values(index));
  }

  private range(index: number): [number, number] {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`there is no vector ${index} of ${this.length}`);
    }
    return [this.bounds[2 * index], this.bounds[2 * index + 1]];
  }
}

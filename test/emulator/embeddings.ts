/**
 * The fake embedding model: deterministic vectors of the model's dimension. Each word contributes a
 * fixed pseudo-random direction (so texts that share words are closer than texts that do not) and
 * the whole text one more (so every different text gets a different vector).
 */
import { createHash } from 'node:crypto';

import { tokenize } from './reply';

const WHOLE_TEXT_WEIGHT = 0.5;

/** xoshiro128**, seeded from 16 bytes: a fast, well-mixed stream of 32-bit values. */
function generator(seed: Buffer): () => number {
  let a = seed.readUInt32LE(0) | 1;
  let b = seed.readUInt32LE(4);
  let c = seed.readUInt32LE(8);
  let d = seed.readUInt32LE(12);
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function addDirection(vector: number[], model: string, key: string, weight: number): void {
  const next = generator(createHash('sha256').update(`${model}\u0000${key}`).digest());
  for (let i = 0; i < vector.length; i++) {
    // Uniform in [-1, 1).
    vector[i] = (vector[i] ?? 0) + weight * (next() / 2 ** 31 - 1);
  }
}

/** Words as the fake model sees them: lower-cased runs of letters and digits. */
function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The model's raw output for `text`: deterministic, not normalised (what `/api/embeddings` returns). */
export function rawEmbedding(model: string, text: string, dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(0);
  for (const word of words(text)) {
    addDirection(vector, model, `word:${word}`, 1);
  }
  addDirection(vector, model, `text:${text}`, WHOLE_TEXT_WEIGHT);
  return vector;
}

/** Ollama's `normalize`: scales to unit length in float32, guarding a zero vector like Ollama. */
export function normalise(vector: readonly number[]): number[] {
  let sum = 0;
  for (const v of vector) {
    sum = Math.fround(sum + Math.fround(v * v));
  }
  const norm = Math.fround(1 / Math.max(Math.sqrt(sum), 1e-12));
  return vector.map((v) => Math.fround(v * norm));
}

/**
 * The number Go's `json.Marshal` writes for a float32: the shortest decimal that reads back as the
 * same float32 (JavaScript then prints it with the same digits and the same exponent rules).
 */
export function float32ForJson(value: number): number {
  const f = Math.fround(value);
  for (let precision = 1; precision < 9; precision++) {
    const shortest = Number(f.toPrecision(precision));
    if (Math.fround(shortest) === f) {
      return shortest;
    }
  }
  return Number(f.toPrecision(9));
}

/** Tokens the fake model counts for an input: its word pieces plus BOS and EOS. */
export function embeddingTokenCount(text: string): number {
  return tokenize(text).length + 2;
}

/** The start of `text` that fits in `limit` tokens (BOS and EOS included), as Ollama truncates inputs. */
export function truncateToTokens(text: string, limit: number): string {
  return tokenize(text)
    .slice(0, Math.max(0, limit - 2))
    .join('');
}

/**
 * OpenAI's `encoding_format: "base64"`: the vector as float32 values, little-endian, base64-encoded.
 * Written with an explicit byte order, so the wire form does not depend on the machine's.
 */
export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

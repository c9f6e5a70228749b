import { float32Base64 } from './embedding-encoding';

describe(float32Base64.name, () => {
  it('writes each value as 4 little-endian bytes of a float32', () => {
    // 1.0 is 0x3f800000, -2.0 is 0xc0000000, 0.5 is 0x3f000000.
    const bytes = Buffer.from(float32Base64([1, -2, 0.5]), 'base64');
    expect([...bytes]).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x3f]);
  });

  it('decodes to the same float32 values, as a client reads it', () => {
    const vector = [0.1, -0.25, 0.333333, 1e-8, 0];
    const bytes = Buffer.from(float32Base64(vector), 'base64');
    const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    expect([...decoded]).toEqual(vector.map((value) => Math.fround(value)));
  });

  it('encodes an empty vector as an empty string', () => {
    expect(float32Base64([])).toBe('');
  });
});

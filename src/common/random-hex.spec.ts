import { randomHex } from './random-hex';

describe(randomHex.name, () => {
  it('gives as many bytes as asked, in lowercase hex', () => {
    expect(randomHex(15)).toMatch(/^[0-9a-f]{30}$/);
    expect(randomHex(1)).toMatch(/^[0-9a-f]{2}$/);
  });

  it('never gives the same bytes twice, across refills of its pool', () => {
    // 2 000 ids of 15 bytes use the pool up about seven times.
    const ids = Array.from({ length: 2_000 }, () => randomHex(15));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('spreads its bytes over every value', () => {
    const counts = new Map<string, number>();
    const hex = Array.from({ length: 400 }, () => randomHex(32)).join('');
    for (const digit of hex) {
      counts.set(digit, (counts.get(digit) ?? 0) + 1);
    }
    // 25 600 hex digits: about 1 600 of each, far from the bounds unless the bytes are not random.
    expect(counts.size).toBe(16);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(1_300);
      expect(count).toBeLessThan(1_900);
    }
  });

  it('refuses more bytes than one pool holds', () => {
    expect(() => randomHex(5_000)).toThrow(RangeError);
  });
});

import { randomFillSync } from 'node:crypto';

/** Bytes drawn from the CSPRNG at a time: one system call serves about 270 completion ids. */
const POOL_BYTES = 4096;

let pool = Buffer.alloc(0);
let used = 0;

/**
 * `bytes` random bytes as lowercase hex, for ids. Every byte is used once, taken from a pool filled
 * by the CSPRNG (as `crypto.randomUUID` does), which costs a twentieth of a `randomBytes` call each.
 */
export function randomHex(bytes: number): string {
  if (bytes > POOL_BYTES) {
    throw new RangeError(`randomHex takes at most ${POOL_BYTES} bytes, not ${bytes}`);
  }
  if (used + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

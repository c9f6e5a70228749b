/**
 * Go's `base64.StdEncoding.Decode` as `encoding/json` applies it to a `[]byte` field such as
 * `api.ImageData`: only the error matters here, with the byte offset Go reports.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  DECODE[ALPHABET.charCodeAt(i)] = i;
}
const PAD = 0x3d;
const CR = 0x0d;
const LF = 0x0a;

function corrupt(offset: number): string {
  return `illegal base64 data at input byte ${offset}`;
}

/** One 4-character quantum, as `decodeQuantum` reads it: returns the next index or an error. */
function quantum(src: Buffer, start: number): { next: number; error?: string; end?: boolean } {
  let si = start;
  for (let j = 0; j < 4; j++) {
    if (si === src.length) {
      // Std encoding is padded: a quantum cut short is an error, except at its very start.
      return j === 0 ? { next: si, end: true } : { next: si, error: corrupt(si - j) };
    }
    const c = src[si] ?? 0;
    si++;
    if ((DECODE[c] ?? -1) >= 0) {
      continue;
    }
    if (c === LF || c === CR) {
      j--;
      continue;
    }
    if (c !== PAD || j < 2) {
      return { next: si, error: corrupt(si - 1) };
    }
    if (j === 2) {
      while (si < src.length && (src[si] === LF || src[si] === CR)) {
        si++;
      }
      if (si === src.length) {
        return { next: si, error: corrupt(src.length) };
      }
      if (src[si] !== PAD) {
        return { next: si, error: corrupt(si - 1) };
      }
      si++;
    }
    while (si < src.length && (src[si] === LF || src[si] === CR)) {
      si++;
    }
    return si < src.length ? { next: si, error: corrupt(si) } : { next: si, end: true };
  }
  return { next: si };
}

/** Go's `CorruptInputError` text for a string that is not valid padded standard base64, else undefined. */
export function goBase64Error(text: string): string | undefined {
  const src = Buffer.from(text, 'utf8');
  let si = 0;
  while (si < src.length) {
    const step = quantum(src, si);
    if (step.error !== undefined) {
      return step.error;
    }
    if (step.end === true) {
      return undefined;
    }
    si = step.next;
  }
  return undefined;
}

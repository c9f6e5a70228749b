/** Small real images for tests of image input: whole files, base64-encoded as a client would send them. */

/** A 1×1 PNG. */
export const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** The first bytes of a JPEG, a GIF and a WEBP file: enough for a format check, not a whole picture. */
export const JPEG_BASE64 = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01,
]).toString('base64');
export const GIF_BASE64 = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00', 'latin1').toString('base64');
export const WEBP_BASE64 = Buffer.concat([
  Buffer.from('RIFF'),
  Buffer.from([0x1a, 0x00, 0x00, 0x00]),
  Buffer.from('WEBPVP8 '),
]).toString('base64');

export function dataUrl(base64: string, mime = 'image/png'): string {
  return `data:${mime};base64,${base64}`;
}

/** An OpenAI user content part holding `url`. */
export function imagePart(url: string): { type: 'image_url'; image_url: { url: string } } {
  return { type: 'image_url', image_url: { url } };
}

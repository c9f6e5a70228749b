import { OpenAiRequestError } from './openai-error';
import { invalidType, invalidValue, isObject } from './request-fields';

/**
 * Images of OpenAI `image_url` content parts, checked and turned into what Ollama takes: the base64 of
 * the file, without the `data:` prefix. Only inline `data:` URLs are accepted: the gateway fetches
 * nothing on a caller's behalf (no requests to arbitrary hosts from inside the network it runs in).
 */

/** Decoded bytes of one image; BODY_LIMIT_BYTES bounds the whole request besides. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** OpenAI's own list (PNG, JPEG, WEBP, GIF), each with the bytes its files start with. */
const IMAGE_SIGNATURES: Readonly<Record<string, (head: Buffer) => boolean>> = {
  'image/png': (head) => head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (head) => head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff,
  'image/gif': (head) => ['GIF87a', 'GIF89a'].includes(head.subarray(0, 6).toString('latin1')),
  'image/webp': (head) =>
    head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP',
};
const MIME_ALIASES: Readonly<Record<string, string>> = { 'image/jpg': 'image/jpeg' };
const SUPPORTED_TYPES = Object.keys(IMAGE_SIGNATURES).join(', ');

/** Go's `base64.StdEncoding`, which Ollama decodes images with: standard alphabet, padded. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s;
const DETAILS = new Set(['auto', 'low', 'high']);

function decodedLength(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

function refuse(param: string, message: string, code: string): OpenAiRequestError {
  return OpenAiRequestError.invalid(`Invalid image at '${param}': ${message}.`, param, code);
}

/**
 * The base64 image of an `image_url` content part (`param` names the part).
 * @throws OpenAiRequestError 400 for a remote URL, a URL that is not a base64 `data:` URL of a PNG,
 *   JPEG, WEBP or GIF image, data that is not valid base64 or not such an image, or an image over
 *   MAX_IMAGE_BYTES.
 */
export function imageOfPart(part: Record<string, unknown>, param: string): string {
  const imageUrl = part.image_url;
  if (!isObject(imageUrl)) {
    throw invalidType(`${param}.image_url`, 'an object', imageUrl);
  }
  const detail = imageUrl.detail;
  if (detail !== undefined && detail !== null && !DETAILS.has(detail as string)) {
    throw invalidValue(`${param}.image_url.detail`, "must be one of 'auto', 'low', 'high'");
  }
  const urlParam = `${param}.image_url.url`;
  const url = imageUrl.url;
  if (typeof url !== 'string') {
    throw invalidType(urlParam, 'a string', url);
  }
  if (/^https?:/i.test(url)) {
    throw refuse(
      urlParam,
      'remote image URLs are not fetched by this server; send the image inline as a data URL ' +
        '(data:image/png;base64,...)',
      'image_url_not_supported',
    );
  }
  const match = DATA_URL.exec(url);
  if (match === null) {
    throw refuse(urlParam, 'expected a data URL such as data:image/png;base64,...', 'invalid_image_url');
  }
  const declared = match[1].trim().toLowerCase();
  const mime = MIME_ALIASES[declared] ?? declared;
  const parameters = match[2].toLowerCase().split(';');
  const data = match[3];
  const isImage = IMAGE_SIGNATURES[mime];
  if (isImage === undefined) {
    throw refuse(
      urlParam,
      `the media type ${JSON.stringify(declared)} is not supported; use one of ${SUPPORTED_TYPES}`,
      'invalid_image_format',
    );
  }
  if (!parameters.includes('base64')) {
    throw refuse(urlParam, 'the data URL must be base64-encoded (data:image/png;base64,...)', 'invalid_image_url');
  }
  if (data === '' || data.length % 4 !== 0 || !BASE64.test(data)) {
    throw refuse(
      urlParam,
      'the data is not valid base64 (standard alphabet, padded with =, no line breaks)',
      'invalid_base64',
    );
  }
  const bytes = decodedLength(data);
  if (bytes > MAX_IMAGE_BYTES) {
    throw refuse(
      urlParam,
      `the image has ${bytes} bytes, more than the ${MAX_IMAGE_BYTES} bytes (20 MiB) accepted; send a smaller image`,
      'image_too_large',
    );
  }
  if (!isImage(Buffer.from(data.slice(0, 16), 'base64'))) {
    throw refuse(urlParam, `the data is not a ${mime.slice('image/'.length).toUpperCase()} image`, 'invalid_image');
  }
  return data;
}

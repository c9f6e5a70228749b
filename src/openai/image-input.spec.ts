import { dataUrl, GIF_BASE64, imagePart, JPEG_BASE64, PNG_BASE64, WEBP_BASE64 } from '../../test/openai/images';
import { imageOfPart, MAX_IMAGE_BYTES } from './image-input';
import { OpenAiRequestError } from './openai-error';

const PARAM = 'messages[0].content[1]';

function refusalOf(part: Record<string, unknown>): OpenAiRequestError {
  try {
    imageOfPart(part, PARAM);
  } catch (error) {
    if (error instanceof OpenAiRequestError) {
      return error;
    }
    throw error;
  }
  throw new Error('the image was accepted');
}

describe(imageOfPart.name, () => {
  it.each([
    ['image/png', PNG_BASE64],
    ['image/jpeg', JPEG_BASE64],
    ['image/jpg', JPEG_BASE64],
    ['image/gif', GIF_BASE64],
    ['image/webp', WEBP_BASE64],
    ['IMAGE/PNG', PNG_BASE64],
  ])('takes a %s data URL as its base64, without the prefix', (mime, base64) => {
    expect(imageOfPart(imagePart(dataUrl(base64, mime)), PARAM)).toBe(base64);
  });

  it('accepts the detail OpenAI clients send', () => {
    const part = { type: 'image_url', image_url: { url: dataUrl(PNG_BASE64), detail: 'low' } };
    expect(imageOfPart(part, PARAM)).toBe(PNG_BASE64);
  });

  it.each(['https://example.com/cat.png', 'http://10.0.0.1/cat.png', 'HTTPS://EXAMPLE.COM/CAT.PNG'])(
    'refuses the remote URL %s: the gateway fetches nothing for a caller',
    (url) => {
      const refusal = refusalOf(imagePart(url));
      expect(refusal).toMatchObject({
        status: 400,
        param: `${PARAM}.image_url.url`,
        code: 'image_url_not_supported',
      });
      expect(refusal.message).toMatch(/not fetched .*data:image\/png;base64/);
    },
  );

  it.each([
    ['another scheme', 'file:///etc/passwd', 'invalid_image_url'],
    ['a bare base64 string', PNG_BASE64, 'invalid_image_url'],
    ['a text media type', dataUrl(PNG_BASE64, 'text/plain'), 'invalid_image_format'],
    ['an SVG image', dataUrl(PNG_BASE64, 'image/svg+xml'), 'invalid_image_format'],
    ['a data URL without ;base64', `data:image/png,${PNG_BASE64}`, 'invalid_image_url'],
    ['characters outside base64', dataUrl(`${PNG_BASE64.slice(0, -4)}!!==`), 'invalid_base64'],
    ['URL-safe base64', dataUrl('-_-_'), 'invalid_base64'],
    ['unpadded base64', dataUrl(PNG_BASE64.replace(/=+$/, '')), 'invalid_base64'],
    ['a line break in the data', dataUrl(`${PNG_BASE64.slice(0, 8)}\n${PNG_BASE64.slice(8)}`), 'invalid_base64'],
    ['no data at all', 'data:image/png;base64,', 'invalid_base64'],
    ['bytes that are not a PNG', dataUrl(Buffer.from('not an image at all').toString('base64')), 'invalid_image'],
    ['a JPEG said to be a PNG', dataUrl(JPEG_BASE64, 'image/png'), 'invalid_image'],
  ])('refuses %s', (_case, url, code) => {
    const refusal = refusalOf(imagePart(url));
    expect(refusal).toMatchObject({ status: 400, param: `${PARAM}.image_url.url`, code });
    expect(refusal.message).toMatch(/^Invalid image at 'messages\[0\]\.content\[1\]\.image_url\.url': /);
  });

  it('names the media types it takes when refusing another', () => {
    expect(refusalOf(imagePart(dataUrl(PNG_BASE64, 'image/tiff'))).message).toMatch(
      /image\/png, image\/jpeg, image\/gif, image\/webp/,
    );
  });

  it(`refuses an image over ${MAX_IMAGE_BYTES} bytes, saying the limit`, () => {
    const decoded = Buffer.alloc(MAX_IMAGE_BYTES + 3);
    Buffer.from(PNG_BASE64, 'base64').copy(decoded);
    const refusal = refusalOf(imagePart(dataUrl(decoded.toString('base64'))));
    expect(refusal).toMatchObject({ param: `${PARAM}.image_url.url`, code: 'image_too_large' });
    expect(refusal.message).toContain(`${MAX_IMAGE_BYTES + 3} bytes, more than the ${MAX_IMAGE_BYTES} bytes (20 MiB)`);
  });

  it('accepts an image of exactly the limit', () => {
    const decoded = Buffer.alloc(MAX_IMAGE_BYTES);
    Buffer.from(PNG_BASE64, 'base64').copy(decoded);
    const base64 = decoded.toString('base64');
    expect(imageOfPart(imagePart(dataUrl(base64)), PARAM)).toBe(base64);
  });

  it.each([
    ['a part without image_url', { type: 'image_url' }, `${PARAM}.image_url`, 'invalid_type'],
    [
      'a URL that is not a string',
      { type: 'image_url', image_url: { url: 7 } },
      `${PARAM}.image_url.url`,
      'invalid_type',
    ],
    [
      'an unknown detail',
      { type: 'image_url', image_url: { url: dataUrl(PNG_BASE64), detail: 'ultra' } },
      `${PARAM}.image_url.detail`,
      'invalid_value',
    ],
  ])('refuses %s', (_case, part, param, code) => {
    expect(refusalOf(part)).toMatchObject({ status: 400, param, code });
  });
});

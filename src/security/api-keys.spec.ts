import { createHash } from 'node:crypto';
import { ApiKeyRing, presentedApiKey } from './api-keys';

describe(presentedApiKey.name, () => {
  it('reads a bearer token, whatever the case of the scheme', () => {
    expect(presentedApiKey({ authorization: 'Bearer k-1' })).toBe('k-1');
    expect(presentedApiKey({ authorization: 'bearer   k-2 ' })).toBe('k-2');
  });

  it('reads X-API-Key when there is no bearer token', () => {
    expect(presentedApiKey({ 'x-api-key': ' k-3 ' })).toBe('k-3');
    expect(presentedApiKey({ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'k-4' })).toBe('k-4');
  });

  it('prefers the bearer token when both are sent', () => {
    expect(presentedApiKey({ authorization: 'Bearer k-5', 'x-api-key': 'k-6' })).toBe('k-5');
  });

  it('finds no key in empty, schemeless or malformed headers', () => {
    expect(presentedApiKey({})).toBeUndefined();
    expect(presentedApiKey({ authorization: 'Bearer ' })).toBeUndefined();
    expect(presentedApiKey({ authorization: 'k-7' })).toBeUndefined();
    expect(presentedApiKey({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(presentedApiKey({ 'x-api-key': '   ' })).toBeUndefined();
  });
});

describe(ApiKeyRing.name, () => {
  const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

  it('identifies a configured key by its SHA-256, never by the key itself', () => {
    const ring = new ApiKeyRing(['alpha', 'beta']);
    expect(ring.identify('beta')).toBe(sha256Hex('beta'));
    expect(ring.identify('alpha')).toBe(sha256Hex('alpha'));
  });

  it('refuses keys that differ in content, case, prefix or length', () => {
    const ring = new ApiKeyRing(['alpha']);
    for (const wrong of ['alphb', 'ALPHA', 'alph', 'alphaa', '', 'a'.repeat(10_000)]) {
      expect(ring.identify(wrong)).toBeUndefined();
    }
  });

  it('is empty only without keys', () => {
    expect(new ApiKeyRing([]).isEmpty).toBe(true);
    expect(new ApiKeyRing(['x']).isEmpty).toBe(false);
  });
});

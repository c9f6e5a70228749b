import { errorText } from './error-text';

describe('errorText', () => {
  it("is an Error's message, without its name or stack", () => {
    expect(errorText(new TypeError('fetch failed'))).toBe('fetch failed');
  });

  it.each([
    ['a string', 'ECONNRESET', 'ECONNRESET'],
    ['a number', 42, '42'],
    ['undefined', undefined, 'undefined'],
    ['an object', { code: 'E' }, '[object Object]'],
  ])('is the value as text for %s', (_, value, text) => {
    expect(errorText(value)).toBe(text);
  });
});

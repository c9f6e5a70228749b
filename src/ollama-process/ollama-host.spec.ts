import { networkInterfaces } from 'node:os';
import { isLocalHost, ollamaHostFor, portOf } from './ollama-host';

describe(isLocalHost.name, () => {
  it.each(['localhost', 'LOCALHOST', 'api.localhost', '127.0.0.1', '127.1.2.3', '0.0.0.0', '[::1]', '::1', '[::]'])(
    'treats %s as this machine',
    (host) => {
      expect(isLocalHost(host)).toBe(true);
    },
  );

  it('treats an address of a local interface as this machine', () => {
    const address = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .find((entry) => entry.family === 'IPv4' && !entry.internal)?.address;
    if (address === undefined) {
      return; // no external interface on this machine: nothing to check
    }
    expect(isLocalHost(address)).toBe(true);
  });

  it.each(['ollama.internal.example', '10.255.255.254', '[2001:db8::1]', '8.8.8.8'])(
    'treats %s as another host',
    (host) => {
      expect(isLocalHost(host)).toBe(false);
    },
  );
});

describe(ollamaHostFor.name, () => {
  it.each([
    ['http://127.0.0.1:11434', '127.0.0.1:11434'],
    ['http://localhost:4000', 'localhost:4000'],
    ['http://[::1]:11434', '[::1]:11434'],
    ['http://127.0.0.1', '127.0.0.1:80'],
  ])('gives OLLAMA_HOST for %s as %s', (url, expected) => {
    expect(ollamaHostFor(new URL(url))).toBe(expected);
  });
});

describe(portOf.name, () => {
  it('uses the scheme default when the URL names no port, as Ollama does', () => {
    expect(portOf(new URL('http://example.com'))).toBe(80);
    expect(portOf(new URL('https://example.com'))).toBe(443);
    expect(portOf(new URL('http://example.com:11434'))).toBe(11434);
  });
});

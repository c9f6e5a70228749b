import { parseOllamaHost } from '../emulator/ollama-host';

describe('OLLAMA_HOST rules', () => {
  it.each([
    [undefined, '127.0.0.1', 11434],
    ['', '127.0.0.1', 11434],
    ['1.2.3.4', '1.2.3.4', 11434],
    ['localhost', 'localhost', 11434],
    ['127.0.0.1:8080', '127.0.0.1', 8080],
    [':1234', '', 1234],
    [':0', '', 0],
    ['::1', '::1', 11434],
    ['[::1]:5000', '::1', 5000],
    ['http://example.com', 'example.com', 80],
    ['https://example.com', 'example.com', 443],
    ['http://127.0.0.1:9000/some/path', '127.0.0.1', 9000],
    ['"0.0.0.0:7000"', '0.0.0.0', 7000],
    ['  127.0.0.1:7001  ', '127.0.0.1', 7001],
  ])('reads %j as host %j port %d', (raw, host, port) => {
    const parsed = parseOllamaHost(raw);
    expect({ host: parsed.host, port: parsed.port, warning: parsed.warning }).toEqual({
      host,
      port,
      warning: undefined,
    });
  });

  it('falls back to the default port with a warning for an invalid port', () => {
    expect(parseOllamaHost('127.0.0.1:99999')).toEqual({
      scheme: 'http',
      host: '127.0.0.1',
      port: 11434,
      hostport: '127.0.0.1:11434',
      warning: { port: '99999', default: '11434' },
    });
    expect(parseOllamaHost('http://localhost:-1').port).toBe(80);
  });

  it('formats the address for Go error messages', () => {
    expect(parseOllamaHost('::1').hostport).toBe('[::1]:11434');
    expect(parseOllamaHost(':0').hostport).toBe(':0');
  });
});

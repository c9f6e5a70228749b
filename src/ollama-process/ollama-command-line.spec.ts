import { isOllamaGroupMember, isServeCommand } from './ollama-command-line';

describe(isServeCommand.name, () => {
  it.each([
    ['ollama on PATH', ['ollama', 'serve'], 'ollama'],
    ['a path', ['/usr/local/bin/ollama', 'serve'], '/usr/local/bin/ollama'],
    [
      'a script run by its interpreter',
      ['node', '/srv/app/test/fake-ollama/ollama', 'serve'],
      '/srv/app/test/fake-ollama/ollama',
    ],
    ['a relative path', ['test/fake-ollama/ollama', 'serve'], 'test/fake-ollama/ollama'],
  ])('recognises `<bin> serve` for %s', (_, argv, bin) => {
    expect(isServeCommand(argv, bin)).toBe(true);
  });

  it.each([
    ['another program at a reused pid', ['/usr/bin/postgres', '-D', '/data'], 'ollama'],
    ['another ollama command', ['ollama', 'run', 'llama3.1'], 'ollama'],
    ['a runner', ['/usr/local/bin/ollama', 'runner', '--model', 'x', '--port', '1'], 'ollama'],
    ['another program that happens to end in serve', ['python3', '-m', 'http.server', 'serve'], 'ollama'],
    ['an unreadable command line', undefined, 'ollama'],
  ])('rejects %s', (_, argv, bin) => {
    expect(isServeCommand(argv, bin)).toBe(false);
  });
});

describe(isOllamaGroupMember.name, () => {
  it.each([
    ['llama-server (v0.30 and later)', ['/usr/lib/ollama/llama-server', '--model', '/blob', '--port', '41234']],
    ['ollama runner (v0.5 to v0.2x)', ['/usr/local/bin/ollama', 'runner', '--model', '/blob', '--port', '41234']],
    ['ollama_llama_server (v0.4 and earlier)', ['/tmp/ollama123/runners/ollama_llama_server', '--model', '/blob']],
    ['a script runner started with --model and --port', ['node', '/srv/runner.js', '--model', '/blob', '--port', '4']],
  ])('accepts %s', (_, argv) => {
    expect(isOllamaGroupMember(argv, 'ollama')).toBe(true);
  });

  it.each([
    ['a shell', ['bash', '-c', 'sleep 100']],
    ['a program with only --model', ['python3', 'train.py', '--model', 'x']],
    ['an unreadable command line', undefined],
  ])('rejects %s', (_, argv) => {
    expect(isOllamaGroupMember(argv, 'ollama')).toBe(false);
  });
});

import { Logger } from '@nestjs/common';
import { levelOfLine, OllamaOutput } from './ollama-output';

describe(levelOfLine.name, () => {
  it.each([
    ['time=2025-03-24T14:07:07.068+08:00 level=INFO source=routes.go:1678 msg="Listening on 127.0.0.1:11434"', 'log'],
    ['time=2025-03-24T14:07:07.068+08:00 level=WARN source=server.go:1196 msg="runner process exited"', 'warn'],
    ['time=2025-03-24T14:07:07.068+08:00 level=ERROR source=sched.go:1 msg="error loading llama server"', 'error'],
    ['time=2025-03-24T14:07:07.068+08:00 level=DEBUG source=sched.go:137 msg=heartbeat', 'debug'],
    ['[GIN] 2025/01/18 - 20:53:19 | 200 |      51.6µs |       127.0.0.1 | GET      "/api/version"', 'debug'],
    ['Error: listen tcp 127.0.0.1:11434: bind: address already in use', 'error'],
    ['panic: $HOME is not defined', 'error'],
    ["Couldn't find '/root/.ollama/id_ed25519'. Generating new private key.", 'log'],
  ])('maps %s to %s', (line, level) => {
    expect(levelOfLine(line)).toBe(level);
  });
});

describe(OllamaOutput.name, () => {
  it('logs each line with the [ollama] prefix at its level', () => {
    const logger = new Logger('Ollama');
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const output = new OllamaOutput(logger);

    output.write('stderr', 'time=x level=WARN msg=careful');

    expect(warn).toHaveBeenCalledWith('[ollama] time=x level=WARN msg=careful');
  });

  it('keeps the last 20 stderr lines, not stdout, and forgets them on reset', () => {
    const logger = new Logger('Ollama');
    jest.spyOn(logger, 'log').mockImplementation(() => undefined);
    jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
    const output = new OllamaOutput(logger);

    for (let line = 1; line <= 25; line++) {
      output.write('stderr', `line ${line}`);
    }
    output.write('stdout', '[GIN] access line');

    expect(output.stderrTail().split(' | ')).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 6}`));
    output.reset();
    expect(output.stderrTail()).toBe('');
  });
});

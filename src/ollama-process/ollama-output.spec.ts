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

  function quietOutput(): OllamaOutput {
    const logger = new Logger('Ollama');
    for (const level of ['log', 'warn', 'error', 'debug', 'verbose'] as const) {
      jest.spyOn(logger, level).mockImplementation(() => undefined);
    }
    return new OllamaOutput(logger);
  }

  /** What `ollama serve` 0.33 writes to stderr on a normal start, then its debug chatter. */
  const STARTUP = [
    'time=2026-12-07T04:11:02.114Z level=INFO source=routes.go:1622 msg="server config" env="map[OLLAMA_HOST:http://127.0.0.1:11434 OLLAMA_KEEP_ALIVE:20m0s OLLAMA_MAX_LOADED_MODELS:0 OLLAMA_NUM_PARALLEL:1]"',
    'time=2026-12-07T04:11:02.115Z level=INFO source=routes.go:1625 msg="Ollama cloud disabled: false"',
    'time=2026-12-07T04:11:02.117Z level=INFO source=images.go:522 msg="total blobs: 6"',
    'time=2026-12-07T04:11:02.117Z level=INFO source=images.go:529 msg="total unused blobs removed: 0"',
    'time=2026-12-07T04:11:02.118Z level=INFO source=routes.go:1678 msg="Listening on 127.0.0.1:11434 (version 0.33.0)"',
    'time=2026-12-07T04:11:02.119Z level=INFO source=types.go:42 msg="discovering available GPUs..."',
    'time=2026-12-07T04:11:02.311Z level=INFO source=types.go:60 msg="inference compute" id=cpu library=cpu compute="" name=cpu description=cpu libdirs=ollama driver="" pci_id="" type="" total="15.6 GiB" available="12.1 GiB"',
    'time=2026-12-07T04:11:02.312Z level=INFO source=routes.go:1719 msg="vram-based default context" total_vram="0 B" default_num_ctx=4096',
    'time=2026-12-07T04:11:03.001Z level=DEBUG source=sched.go:137 msg=heartbeat loaded=0',
  ];

  it('keeps nothing of a routine start, so that an exit by signal is reported as just that', () => {
    const output = quietOutput();
    STARTUP.forEach((line) => output.write('stderr', line));
    output.write(
      'stdout',
      '[GIN] 2026/12/07 - 04:11:05 | 200 |      51.6µs |       127.0.0.1 | GET      "/api/version"',
    );

    expect(output.exitClues()).toBe('');
  });

  it('keeps the error and warning lines among the routine ones, without their timestamps', () => {
    const output = quietOutput();
    STARTUP.forEach((line) => output.write('stderr', line));
    output.write(
      'stderr',
      'time=2026-12-07T04:12:40.501Z level=WARN source=server.go:1196 msg="runner process exited" pid=4711 code="" signal=killed',
    );
    output.write('stderr', 'time=2026-12-07T04:12:40.502Z level=INFO source=sched.go:512 msg="unloading model"');
    output.write(
      'stderr',
      'time=2026-12-07T04:12:40.503Z level=ERROR source=sched.go:456 msg="error loading llama server" error="llama runner process has terminated: signal: killed"',
    );

    expect(output.exitClues()).toBe(
      'level=WARN source=server.go:1196 msg="runner process exited" pid=4711 code="" signal=killed | ' +
        'level=ERROR source=sched.go:456 msg="error loading llama server" error="llama runner process has terminated: signal: killed"',
    );
  });

  it.each([
    'Error: listen tcp 127.0.0.1:11434: bind: address already in use',
    'Error: $HOME is not defined',
    'Error: could not create directory mkdir /usr/share/ollama: permission denied',
  ])('keeps %s, printed before exiting with code 1', (line) => {
    const output = quietOutput();
    output.write('stdout', "Couldn't find '/root/.ollama/id_ed25519'. Generating new private key.");
    output.write('stderr', line);

    expect(output.exitClues()).toBe(line);
  });

  it('keeps a Go panic with the lines right after it, and no more of the stack', () => {
    const output = quietOutput();
    STARTUP.slice(0, 3).forEach((line) => output.write('stderr', line));
    [
      'panic: runtime error: invalid memory address or nil pointer dereference',
      '[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x5a3f2c]',
      'goroutine 87 [running]:',
      'github.com/ollama/ollama/server.(*Scheduler).processPending(0xc0001a2000, {0x1d3c6f0, 0xc00012a0a0})',
      '\t/go/src/github.com/ollama/ollama/server/sched.go:204 +0x2cc',
      'created by github.com/ollama/ollama/server.(*Scheduler).Run in goroutine 1',
      '\t/go/src/github.com/ollama/ollama/server/sched.go:107 +0xbb',
    ].forEach((line) => output.write('stderr', line));

    expect(output.exitClues().split(' | ')).toEqual([
      'panic: runtime error: invalid memory address or nil pointer dereference',
      '[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x5a3f2c]',
      'goroutine 87 [running]:',
      'github.com/ollama/ollama/server.(*Scheduler).processPending(0xc0001a2000, {0x1d3c6f0, 0xc00012a0a0})',
      '/go/src/github.com/ollama/ollama/server/sched.go:204 +0x2cc',
    ]);
  });

  it('keeps a Go fatal error', () => {
    const output = quietOutput();
    output.write('stderr', 'fatal error: concurrent map writes');

    expect(output.exitClues()).toBe('fatal error: concurrent map writes');
  });

  it('stays bounded: the newest 6 lines, each cut at 200 characters', () => {
    const output = quietOutput();
    for (let n = 1; n <= 10; n++) {
      output.write('stderr', `time=2026-12-07T04:12:4${n % 10}.000Z level=WARN source=x.go:${n} msg="warning ${n}"`);
    }
    output.write('stderr', `Error: ${'x'.repeat(500)}`);

    const clues = output.exitClues().split(' | ');
    expect(clues).toHaveLength(6);
    expect(clues[0]).toBe('level=WARN source=x.go:6 msg="warning 6"');
    expect(clues[5]).toHaveLength(200);
    expect(clues[5].endsWith('…')).toBe(true);
    expect(output.exitClues().length).toBeLessThan(6 * 203);
  });

  it('never keeps stdout, and forgets what it kept on reset', () => {
    const output = quietOutput();
    output.write('stdout', 'Error: not from stderr');
    output.write('stderr', 'panic: before the restart');
    output.reset();
    output.write('stderr', 'goroutine 1 [running]:');

    expect(output.exitClues()).toBe('');
  });
});

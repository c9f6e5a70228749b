import { Logger } from '@nestjs/common';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeMachine, OLLAMA } from '../../test/ollama-process/fake-machine';
import { parseEnvironment } from '../config/environment';
import { OllamaLauncher } from './ollama-launcher';
import { OllamaOutput } from './ollama-output';
import type { VersionResult } from './ollama-probe';
import { ProcessRunner } from './process-runner';

const URL_ = new URL('http://127.0.0.1:11434');
const REFUSED: VersionResult = { ok: false, detail: 'connection refused' };

function settings(bin: string, startupTimeoutMs = 30_000) {
  return { ...parseEnvironment({ OLLAMA_URL: URL_.href }).ollama, bin, url: URL_, startupTimeoutMs };
}

function quietOutput(): OllamaOutput {
  const logger = new Logger('Ollama');
  for (const level of ['log', 'warn', 'error', 'debug', 'verbose'] as const) {
    jest.spyOn(logger, level).mockImplementation(() => undefined);
  }
  return new OllamaOutput(logger);
}

describe(OllamaLauncher.name, () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  describe('with real processes', () => {
    const runner = new ProcessRunner();
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ollama-launcher-'));
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    /** An executable `ollama` that runs `body` as a shell script. */
    function script(body: string): string {
      const path = join(dir, 'ollama');
      writeFileSync(path, `#!/bin/sh\n${body}\n`);
      chmodSync(path, 0o755);
      return path;
    }

    it('starts `<bin> serve` in its own process group with OLLAMA_HOST and OLLAMA_KEEP_ALIVE', async () => {
      const bin = script('echo "$0 $1 $OLLAMA_HOST $OLLAMA_KEEP_ALIVE $(ps -o pgid= -p $$ | tr -d " ")" >&2; exit 3');
      const lines: string[] = [];
      const output = quietOutput();
      jest.spyOn(output, 'write').mockImplementation((_, line) => lines.push(line));
      const launcher = new OllamaLauncher(runner, { version: () => Promise.resolve(REFUSED) }, settings(bin), output);

      const child = await launcher.spawn();
      const outcome = await launcher.waitForFirstAnswer(child, new AbortController().signal);

      expect(outcome).toEqual({ kind: 'exited', exit: { code: 3, signal: null } });
      expect(lines).toEqual([`${bin} serve 127.0.0.1:11434 20m ${child.pid}`]);
    });

    it('explains an exit by the `Error:` line, leaving out the routine lines before it', async () => {
      const bin = script(
        [
          `echo 'time=2026-12-07T04:11:02.114Z level=INFO source=routes.go:1622 msg="server config"' >&2`,
          `echo 'time=2026-12-07T04:11:02.115Z level=INFO source=routes.go:1625 msg="Ollama cloud disabled: false"' >&2`,
          `echo 'Error: listen tcp 127.0.0.1:11434: bind: address already in use' >&2`,
          'exit 1',
        ].join('\n'),
      );
      const launcher = new OllamaLauncher(
        runner,
        { version: () => Promise.resolve(REFUSED) },
        settings(bin),
        quietOutput(),
      );

      const child = await launcher.spawn();
      const outcome = await launcher.waitForFirstAnswer(child, new AbortController().signal);

      expect(outcome.kind).toBe('exited');
      expect(launcher.describeExit(await child.exited)).toBe(
        'code 1: Error: listen tcp 127.0.0.1:11434: bind: address already in use',
      );
    });

    it('reads the last line a server wrote before exiting, even behind a pipeful of output', async () => {
      // 2,000 routine lines, more than a pipe holds, then the one line that says why.
      const bin = script(
        [
          'i=0',
          'while [ $i -lt 2000 ]; do',
          `  echo "time=2026-12-07T04:11:02.114Z level=INFO source=images.go:522 msg=\\"total blobs: $i\\""`,
          '  i=$((i+1))',
          'done >&2',
          `echo 'Error: could not create directory mkdir /usr/share/ollama: permission denied' >&2`,
          'exit 1',
        ].join('\n'),
      );
      const launcher = new OllamaLauncher(
        runner,
        { version: () => Promise.resolve(REFUSED) },
        settings(bin),
        quietOutput(),
      );

      const child = await launcher.spawn();

      expect(launcher.describeExit(await child.exited)).toBe(
        'code 1: Error: could not create directory mkdir /usr/share/ollama: permission denied',
      );
    });

    it('names a signal, and nothing more, when the output does not explain the exit', async () => {
      const bin = script(
        `echo 'time=2026-12-07T04:11:02.114Z level=INFO source=routes.go:1678 msg="Listening on 127.0.0.1:11434 (version 0.33.0)"' >&2; kill -9 $$`,
      );
      const launcher = new OllamaLauncher(
        runner,
        { version: () => Promise.resolve(REFUSED) },
        settings(bin),
        quietOutput(),
      );

      const child = await launcher.spawn();

      expect(launcher.describeExit(await child.exited)).toBe('signal SIGKILL');
    });

    it.each([
      [
        'a name not on PATH',
        'ollama-not-installed-here',
        "ollama binary 'ollama-not-installed-here' not found on PATH; install Ollama or set OLLAMA_BIN",
      ],
      [
        'a path that does not exist',
        '/opt/nowhere/bin/ollama',
        "ollama binary '/opt/nowhere/bin/ollama' not found; install Ollama or set OLLAMA_BIN",
      ],
    ])('says in operator words when OLLAMA_BIN is %s', async (_, bin, message) => {
      const launcher = new OllamaLauncher(
        runner,
        { version: () => Promise.resolve(REFUSED) },
        settings(bin),
        quietOutput(),
      );

      await expect(launcher.spawn()).rejects.toThrow(message);
    });

    it('says so when OLLAMA_BIN is not executable', async () => {
      const bin = join(dir, 'ollama');
      writeFileSync(bin, '#!/bin/sh\n');
      const launcher = new OllamaLauncher(
        runner,
        { version: () => Promise.resolve(REFUSED) },
        settings(bin),
        quietOutput(),
      );

      await expect(launcher.spawn()).rejects.toThrow(
        `ollama binary '${bin}' is not executable; fix its permissions or set OLLAMA_BIN`,
      );
    });
  });

  describe('waiting for the first answer', () => {
    let machine: FakeMachine;

    beforeEach(() => {
      jest.useFakeTimers();
      machine = new FakeMachine();
    });

    it('is up once the started server answers', async () => {
      const launcher = new OllamaLauncher(machine.runner, machine.probe, settings('ollama'), quietOutput());
      const child = await launcher.spawn();

      await expect(launcher.waitForFirstAnswer(child, new AbortController().signal)).resolves.toEqual({
        kind: 'up',
        version: OLLAMA.version,
      });
    });

    it('gives up after OLLAMA_STARTUP_TIMEOUT, polling until then', async () => {
      machine.script = { answers: false };
      const version = jest.spyOn(machine.probe, 'version');
      const launcher = new OllamaLauncher(machine.runner, machine.probe, settings('ollama', 5_000), quietOutput());
      const child = await launcher.spawn();

      let outcome: unknown;
      void launcher.waitForFirstAnswer(child, new AbortController().signal).then((result) => (outcome = result));
      await jest.advanceTimersByTimeAsync(4_900);
      expect(outcome).toBeUndefined();
      await jest.advanceTimersByTimeAsync(300);

      expect(outcome).toEqual({ kind: 'timeout' });
      expect(version.mock.calls.length).toBeGreaterThanOrEqual(20);
    });

    it('stops waiting when its signal aborts', async () => {
      machine.script = { answers: false };
      const launcher = new OllamaLauncher(machine.runner, machine.probe, settings('ollama'), quietOutput());
      const child = await launcher.spawn();
      const lifetime = new AbortController();

      const waiting = launcher.waitForFirstAnswer(child, lifetime.signal);
      await jest.advanceTimersByTimeAsync(1_000);
      lifetime.abort();

      await expect(waiting).resolves.toEqual({ kind: 'aborted' });
    });

    it('does not take an answer from another server for its own once its server has exited', async () => {
      machine.script = { answers: false };
      const launcher = new OllamaLauncher(machine.runner, machine.probe, settings('ollama'), quietOutput());
      const child = await launcher.spawn();
      machine.portAnswer = OLLAMA;
      machine.kill(child.pid, 'SIGKILL');

      await expect(launcher.waitForFirstAnswer(child, new AbortController().signal)).resolves.toEqual({
        kind: 'exited',
        exit: { code: null, signal: 'SIGKILL' },
      });
    });
  });
});

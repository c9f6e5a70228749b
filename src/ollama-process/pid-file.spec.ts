import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PidFile } from './pid-file';

describe(PidFile.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pid-file-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a pid, creating its directory, and reads it back; leaves no draft behind', () => {
    const pidFile = new PidFile(join(dir, 'run', 'ollama-manager-11434.pid'));

    pidFile.write(4242);

    expect(pidFile.read()).toBe(4242);
    expect(readdirSync(join(dir, 'run'))).toEqual(['ollama-manager-11434.pid']);
  });

  it.each([
    ['there is no file', undefined],
    ['the file is empty', ''],
    ['the file holds no number', 'ollama\n'],
    ['the pid is init', '1\n'],
    ['the pid is not an integer', '12.5\n'],
  ])('reads nothing when %s', (_, content) => {
    const path = join(dir, 'ollama.pid');
    if (content !== undefined) {
      writeFileSync(path, content);
    }
    expect(new PidFile(path).read()).toBeUndefined();
  });

  it('removes the file, and removing it again is fine', () => {
    const pidFile = new PidFile(join(dir, 'ollama.pid'));
    pidFile.write(4242);

    pidFile.remove();
    pidFile.remove();

    expect(existsSync(pidFile.path)).toBe(false);
  });

  it('keeps one file per path, so that two servers do not share a record', () => {
    const first = new PidFile(join(dir, 'ollama-manager-11434.pid'));
    const second = new PidFile(join(dir, 'ollama-manager-11435.pid'));

    first.write(4242);
    second.write(4343);
    first.remove();

    expect(first.read()).toBeUndefined();
    expect(second.read()).toBe(4343);
  });
});

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * `OLLAMA_PID_FILE`: the pid of the `ollama serve` this service started, which is also its process
 * group id. It lets the next run find what a crashed run left behind. One file per local Ollama, so the
 * path is given by whoever supervises that server. Synchronous on purpose: it is a few bytes, and the
 * last-resort cleanup at process exit cannot wait for promises.
 */
export class PidFile {
  constructor(readonly path: string) {}

  /** The recorded pid, or undefined when there is no file or it holds no pid. */
  read(): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return undefined;
    }
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  }

  /**
   * Records `pid`, replacing the file in one step so a crash never leaves half a number.
   * @throws the file system's error (the directory cannot be created, no permission, ...).
   */
  write(pid: number): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const draft = `${this.path}.${process.pid}.tmp`;
    writeFileSync(draft, `${pid}\n`);
    renameSync(draft, this.path);
  }

  /** Removes the file; nothing happens when it is already gone. */
  remove(): void {
    rmSync(this.path, { force: true });
  }
}

import { Logger, LogLevel } from '@nestjs/common';
import type { OutputStream } from './process-runner';

const TAIL_LINES = 20;

const SLOG_LEVELS: Record<string, LogLevel> = {
  ERROR: 'error',
  WARN: 'warn',
  WARNING: 'warn',
  INFO: 'log',
  DEBUG: 'debug',
  TRACE: 'verbose',
};

/** The log level for one line of `ollama serve` output. */
export function levelOfLine(line: string): LogLevel {
  const slog = /\blevel=([A-Z]+)\b/.exec(line);
  if (slog) {
    return SLOG_LEVELS[slog[1]] ?? 'log';
  }
  if (line.startsWith('[GIN]')) {
    // One access line per request: our own health polls would flood the log at info.
    return 'debug';
  }
  // What Ollama prints without slog: `Error: listen tcp ...` before exiting, Go panics.
  if (/^(error|panic|fatal)\b/i.test(line)) {
    return 'error';
  }
  return 'log';
}

/**
 * Where the output of the `ollama serve` this service started goes: into the service's log, prefixed
 * `[ollama]`, at the level Ollama gave each line. The last stderr lines are kept to explain an exit.
 */
export class OllamaOutput {
  private tail: string[] = [];

  constructor(private readonly logger = new Logger('Ollama')) {}

  write(stream: OutputStream, line: string): void {
    const text = `[ollama] ${line}`;
    switch (levelOfLine(line)) {
      case 'fatal':
        this.logger.fatal(text);
        break;
      case 'error':
        this.logger.error(text);
        break;
      case 'warn':
        this.logger.warn(text);
        break;
      case 'log':
        this.logger.log(text);
        break;
      case 'debug':
        this.logger.debug(text);
        break;
      case 'verbose':
        this.logger.verbose(text);
        break;
    }
    if (stream === 'stderr') {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) {
        this.tail.shift();
      }
    }
  }

  /** The last stderr lines (at most 20), oldest first, joined with ` | `; empty when there were none. */
  stderrTail(): string {
    return this.tail.join(' | ');
  }

  /** Forgets the kept lines, before a new start. */
  reset(): void {
    this.tail = [];
  }
}

import { Logger, LogLevel } from '@nestjs/common';
import type { OutputStream } from './process-runner';

/** Lines kept to explain an exit: the newest, so that what came right before the exit stays. */
const MAX_CLUES = 6;
/** A kept line longer than this is cut, so that one runaway line cannot fill the message. */
const MAX_CLUE_CHARS = 200;
/** Lines kept after a Go `panic:` or `fatal error:` line: the signal line and the top of the stack. */
const LINES_AFTER_PANIC = 4;

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
 * True for a line that may say why `ollama serve` exited: slog `level=ERROR` and `level=WARN` lines,
 * `Error: ...` as printed before exiting with code 1 (port in use, `$HOME` not set), Go's `panic:` and
 * `fatal error:`. Routine start-up lines (`level=INFO`), debug lines and access lines are not.
 */
export function explainsExit(line: string): boolean {
  const level = levelOfLine(line);
  return level === 'error' || level === 'warn' || level === 'fatal';
}

/**
 * Where the output of the `ollama serve` this service started goes: into the service's log, prefixed
 * `[ollama]`, at the level Ollama gave each line. Of its stderr, only the lines that may explain an exit
 * are kept (see {@link explainsExit}, plus the few lines that follow a panic), bounded, for the message
 * that reports the exit; the log has the rest.
 */
export class OllamaOutput {
  private clues: string[] = [];
  /** Lines still to keep after a panic, whatever they say: the stack says where it happened. */
  private panicLinesLeft = 0;

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
      this.collect(line);
    }
  }

  /**
   * The kept stderr lines that may explain an exit (at most 6, oldest first, without slog's `time=`),
   * joined with ` | `; empty when the output said nothing of the kind.
   */
  exitClues(): string {
    return this.clues.join(' | ');
  }

  /** Forgets the kept lines, before a new start. */
  reset(): void {
    this.clues = [];
    this.panicLinesLeft = 0;
  }

  private collect(line: string): void {
    if (/^(panic|fatal error):/.test(line)) {
      this.panicLinesLeft = LINES_AFTER_PANIC;
      this.keep(line);
    } else if (this.panicLinesLeft > 0) {
      this.panicLinesLeft -= 1;
      this.keep(line);
    } else if (explainsExit(line)) {
      this.keep(line);
    }
  }

  private keep(line: string): void {
    const compact = line.replace(/^time=\S+\s+/, '').trim();
    this.clues.push(compact.length > MAX_CLUE_CHARS ? `${compact.slice(0, MAX_CLUE_CHARS - 1)}…` : compact);
    if (this.clues.length > MAX_CLUES) {
      this.clues.shift();
    }
  }
}

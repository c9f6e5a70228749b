import { Logger } from '@nestjs/common';
import { errorText } from '../common/errors';

/**
 * Whether an Ollama server answers, as the rest of the application sees it: a flag, the callers of
 * `whenUp` waiting for it to turn true, and the listeners told of every change. The supervisor sets it;
 * nothing here does I/O.
 */
export class Reachability {
  private up = false;
  private closed = false;
  private readonly listeners = new Set<(up: boolean) => void>();
  private readonly waiters = new Set<() => void>();

  /**
   * @param onSet called with every change, before waiters and listeners (the `ollama_up` gauge).
   */
  constructor(
    private readonly onSet: (up: boolean) => void,
    private readonly logger: Logger = new Logger(Reachability.name),
  ) {}

  isUp(): boolean {
    return this.up;
  }

  /** Resolves as soon as the server is up (at once when it is); rejects when `signal` aborts. */
  whenUp(signal?: AbortSignal): Promise<void> {
    if (this.up) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(abortReason(signal));
      };
      const waiter = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Calls `listener` with every change; a listener that throws is logged and the others still hear.
   * @returns a function that removes the listener.
   */
  onChange(listener: (up: boolean) => void): () => void {
    if (!this.closed) {
      this.listeners.add(listener);
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Records whether the server answers; waiters and listeners hear only of a change. */
  set(up: boolean): void {
    if (this.up === up || this.closed) {
      return;
    }
    this.up = up;
    this.onSet(up);
    if (up) {
      const waiters = [...this.waiters];
      this.waiters.clear();
      waiters.forEach((wake) => wake());
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(up);
      } catch (error) {
        this.logger.error(`an Ollama up/down listener failed: ${errorText(error)}`);
      }
    }
  }

  /** At shutdown: down for good, without telling listeners (they are going away too), and forgets them. */
  close(): void {
    this.closed = true;
    this.up = false;
    this.onSet(false);
    this.listeners.clear();
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

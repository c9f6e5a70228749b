import { OllamaEndpoint } from '../../src/ollama-process/ollama-endpoint';

/** An Ollama endpoint whose up/down state a test sets, telling listeners and waiters like the real one. */
export class FakeOllamaEndpoint extends OllamaEndpoint {
  private up: boolean;
  private readonly listeners = new Set<(up: boolean) => void>();
  private waiters: Array<() => void> = [];

  constructor(
    up = true,
    readonly baseUrl = 'http://127.0.0.1:11434',
  ) {
    super();
    this.up = up;
  }

  isUp(): boolean {
    return this.up;
  }

  whenUp(signal?: AbortSignal): Promise<void> {
    if (this.up) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  }

  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(up: boolean): void {
    this.up = up;
    if (up) {
      for (const resolve of this.waiters.splice(0)) {
        resolve();
      }
    }
    for (const listener of this.listeners) {
      listener(up);
    }
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

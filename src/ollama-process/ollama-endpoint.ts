/** Who controls the Ollama server's process, as reported by `/health/ollama`. */
export type OllamaOwnership = 'owned' | 'adopted' | 'external';

/**
 * The Ollama server as other modules see it: where it is and whether it answers now. The process
 * behind it (spawned, adopted or someone else's) stays the business of `OllamaProcessModule`.
 * Injected by this abstract class; `OllamaProcessModule` provides the implementation.
 */
export abstract class OllamaEndpoint {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:11434`. */
  abstract readonly baseUrl: string;

  /** True while the server answers `GET /api/version`. */
  abstract isUp(): boolean;

  /**
   * Resolves as soon as the server answers (at once when it already does). Rejects only when `signal`
   * aborts; a server that never comes up leaves it pending, so always pass a signal with a deadline.
   */
  abstract whenUp(signal?: AbortSignal): Promise<void>;

  /**
   * Calls `listener` whenever the server comes up (`true`, e.g. after a restart) or goes down (`false`).
   * @returns a function that removes the listener.
   */
  abstract onChange(listener: (up: boolean) => void): () => void;
}

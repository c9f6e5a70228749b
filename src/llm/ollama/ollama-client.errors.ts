/**
 * What can go wrong in a call to Ollama, in the terms the service decides on:
 * - `model_not_found`: Ollama answered 404 for the model (it was deleted, or never pulled);
 * - `busy`: Ollama's scheduler queue is full (503 `server busy…`); worth a retry later;
 * - `upstream`: Ollama answered with another error status, or with an `{"error"}` line in a stream;
 * - `protocol`: the answer was not what the API promises (not JSON, a stream ending before `done`);
 * - `timeout`: no answer (or, in a stream, no chunk) within the allowed time;
 * - `unreachable`: no connection, or the connection was dropped (refused, reset, socket hang up);
 * - `aborted`: the caller's own signal aborted the call; not Ollama's fault.
 */
export type OllamaFailureKind =
  'model_not_found' | 'busy' | 'upstream' | 'protocol' | 'timeout' | 'unreachable' | 'aborted';

/**
 * A failed call to Ollama. `message` is our own summary and safe to log anywhere; `detail` holds
 * Ollama's raw error text, which belongs in logs only and never in an answer to a client.
 */
export class OllamaClientError extends Error {
  constructor(
    readonly kind: OllamaFailureKind,
    message: string,
    readonly detail?: string,
    readonly httpStatus?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'OllamaClientError';
  }
}

export function isOllamaFailure(error: unknown, ...kinds: OllamaFailureKind[]): error is OllamaClientError {
  return error instanceof OllamaClientError && (kinds.length === 0 || kinds.includes(error.kind));
}

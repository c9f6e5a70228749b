import type { OllamaOwnership } from './ollama-endpoint';

export type OllamaState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped';

/** What `/health/ollama` reports; a snapshot, cheap to take. */
export interface OllamaStatus {
  state: OllamaState;
  /** True while the server answers `GET /api/version`. */
  reachable: boolean;
  version?: string;
  /** Who controls the server that answers; absent while none does. */
  ownership?: OllamaOwnership;
  /** The pid (and process group id) of an owned or adopted server. */
  pid?: number;
  /** Times a server this service controlled was replaced after it exited or hung. */
  restarts: number;
  /** What went wrong last, in words an operator can act on; cleared once the server answers. */
  lastError?: string;
  url: string;
}

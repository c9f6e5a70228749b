import { DomainError, NotFoundError } from '../common/errors';

/** A request on Ollama's API named a model the gateway does not serve: Ollama's own 404 and words. */
export class OllamaModelNotFoundError extends NotFoundError {
  constructor(readonly model: string) {
    super(`model '${model}' not found`);
  }
}

/**
 * A model management call (pull, push, create, copy, delete, blobs): which models exist is the
 * gateway's configuration, not its callers' choice (403).
 */
export class ModelManagementRefusedError extends DomainError {
  readonly status = 403;

  constructor(operation: string) {
    super(
      `${operation} is not available through this gateway: its configuration (OLLAMA_MODEL, OLLAMA_MODELS) ` +
        'decides which models exist; ask its operator to change them',
    );
  }
}

import { InvalidRequestError, NotFoundError } from '../../common/errors';
import type { ModelCapability } from '../llm.types';

/** A request named a model this gateway does not serve (404 `model_not_found`). */
export class ModelNotServedError extends NotFoundError {
  readonly code = 'model_not_found';
  readonly param = 'model';

  constructor(
    readonly model: string,
    served: readonly string[],
  ) {
    super(`model '${model}' is not served here; served models: ${served.join(', ')}`);
  }
}

/**
 * A request asked a served model for something it cannot do (chat on an embedding model, tools without
 * `tools`, images without `vision`): 400, decided before any call to Ollama.
 */
export class ModelCapabilityError extends InvalidRequestError {
  readonly code = 'model_capability_missing';
  readonly param = 'model';

  constructor(
    readonly model: string,
    readonly capability: ModelCapability,
    has: readonly ModelCapability[],
  ) {
    super(
      `model '${model}' does not support ${CAPABILITY_WORDS[capability] ?? capability} ` +
        `(it lacks the '${capability}' capability; it has: ${has.join(', ') || 'none reported'}); ` +
        'choose a model that has it',
    );
  }
}

const CAPABILITY_WORDS: Record<string, string> = {
  completion: 'chat or text generation',
  embedding: 'embeddings',
  tools: 'tools',
  vision: 'images',
};

import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { OllamaConfig, ollamaConfig } from '../config/configuration';
import { OpenAiRequestError } from './openai-error';
import type { OpenAiModel } from './openai.types';

export const MODEL_OWNER = 'local-llm-gateway';

const DEFAULT_TAG = ':latest';

/** Whether the last path segment of a model name carries a tag (`llama3.1:8b`; a registry port does not count). */
function hasTag(name: string): boolean {
  return name.slice(name.lastIndexOf('/') + 1).includes(':');
}

/**
 * The names under which the served model is known: the configured name, and the same name with or
 * without `:latest`, as Ollama itself treats `llama3.1` and `llama3.1:latest` as one model.
 */
export function modelAliases(model: string): ReadonlySet<string> {
  const aliases = new Set([model]);
  if (model.endsWith(DEFAULT_TAG)) {
    aliases.add(model.slice(0, -DEFAULT_TAG.length));
  } else if (!hasTag(model)) {
    aliases.add(`${model}${DEFAULT_TAG}`);
  }
  return aliases;
}

/** The one model this service serves (`OLLAMA_MODEL`), as OpenAI's model endpoints describe it. */
@Injectable()
export class ServedModel {
  readonly id: string;
  /** Unix seconds of the service's start: OpenAI's `created` of the model object. */
  readonly created = Math.floor(Date.now() / 1000);
  /**
   * OpenAI's `system_fingerprint` names the backend configuration an answer came from; here that is
   * the model, so the value changes exactly when OLLAMA_MODEL does.
   */
  readonly fingerprint: string;
  private readonly aliases: ReadonlySet<string>;

  constructor(@Inject(ollamaConfig.KEY) config: OllamaConfig) {
    this.id = config.model;
    this.fingerprint = `fp_${createHash('sha256').update(config.model).digest('hex').slice(0, 10)}`;
    this.aliases = modelAliases(config.model);
  }

  /** Whether `name` is the served model or one of its aliases; names are case-sensitive, as in Ollama. */
  isServed(name: string): boolean {
    return this.aliases.has(name);
  }

  /** @throws OpenAiRequestError 404 `model_not_found` when `name` is not the served model. */
  assertServed(name: string): void {
    if (!this.isServed(name)) {
      throw OpenAiRequestError.modelNotFound(name);
    }
  }

  toOpenAiModel(): OpenAiModel {
    return { id: this.id, object: 'model', created: this.created, owned_by: MODEL_OWNER };
  }
}

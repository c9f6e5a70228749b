import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Llm } from '../llm/llm';
import { OpenAiRequestError } from './openai-error';
import type { OpenAiModel } from './openai.types';

export const MODEL_OWNER = 'local-llm-gateway';

/** The served models (OLLAMA_MODEL, OLLAMA_MODELS) as OpenAI's model endpoints describe them. */
@Injectable()
export class ServedModels {
  /** Unix seconds of the service's start: OpenAI's `created` of the model objects. */
  readonly created = Math.floor(Date.now() / 1000);
  private readonly fingerprints = new Map<string, string>();

  constructor(private readonly llm: Llm) {}

  /**
   * The configured name of the served model `name` stands for (aliases with or without `:latest` count).
   * @throws OpenAiRequestError 404 `model_not_found` for a model that is not served.
   */
  resolve(name: string): string {
    const model = this.llm.findModel(name);
    if (model === undefined) {
      throw OpenAiRequestError.modelNotFound(name);
    }
    return model;
  }

  /**
   * OpenAI's `system_fingerprint` names the backend configuration an answer came from; here that is the
   * model, so the value changes exactly when the served model does.
   */
  fingerprint(model: string): string {
    let fingerprint = this.fingerprints.get(model);
    if (fingerprint === undefined) {
      fingerprint = `fp_${createHash('sha256').update(model).digest('hex').slice(0, 10)}`;
      this.fingerprints.set(model, fingerprint);
    }
    return fingerprint;
  }

  list(): OpenAiModel[] {
    return this.llm.models().map(({ name }) => this.toOpenAiModel(name));
  }

  toOpenAiModel(model: string): OpenAiModel {
    return { id: model, object: 'model', created: this.created, owned_by: MODEL_OWNER };
  }
}

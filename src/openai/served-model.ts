import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Llm } from '../llm/llm';
import type { ModelCapability } from '../llm/llm.types';
import { ModelCapabilityError } from '../llm/models/model-errors';
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
   * Refuses a model that Ollama said cannot do `capability`, as the `Llm` port does for what it is sent;
   * for what the gateway asks in other words (a forced tool call goes out as a JSON schema, not tools).
   * A model whose capabilities are not known yet passes, and is refused as not ready when called.
   * @throws ModelCapabilityError 400 naming the model and the capability.
   */
  requireCapability(model: string, capability: ModelCapability): void {
    const has = this.llm.models().find(({ name }) => name === model)?.capabilities ?? [];
    if (has.length > 0 && !has.includes(capability)) {
      throw new ModelCapabilityError(model, capability, has);
    }
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

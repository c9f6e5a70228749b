import type { ModelCapability } from '../llm.types';
import { ModelCapabilityError, ModelNotServedError } from './model-errors';
import { normalizeModelName } from './model-name';

/** Where the registry learns what a model can do: Ollama's `/api/show`, as the backends read it. */
export type CapabilitySource = (model: string) => readonly ModelCapability[] | undefined;

/**
 * The served models (OLLAMA_MODEL first, then OLLAMA_MODELS) and the one rule for their names: a name is
 * served when it is one of them with or without `:latest` (or the registry prefix), as Ollama itself
 * treats those as one model. Resolving never calls Ollama.
 */
export class ModelRegistry {
  private readonly byNormalName: ReadonlyMap<string, string>;

  constructor(
    /** The configured names, the default first. */
    readonly names: readonly string[],
    private readonly capabilitiesOf: CapabilitySource,
  ) {
    this.byNormalName = new Map(names.map((name) => [normalizeModelName(name), name]));
  }

  /** The default model (OLLAMA_MODEL). */
  get defaultModel(): string {
    return this.names[0];
  }

  /** The configured name of a served model, if `name` is one (or an alias of one). */
  find(name: string): string | undefined {
    return this.byNormalName.get(normalizeModelName(name));
  }

  /**
   * The configured name of the model a request asks for (`undefined`: the default), after checking
   * that it has `capability` where Ollama has told us what it can do. A model whose capabilities are not
   * known yet (not ready) passes; admission then refuses it as not ready.
   * @throws ModelNotServedError (404) for a name that is not served.
   * @throws ModelCapabilityError (400) when the model lacks `capability`.
   */
  resolve(name: string | undefined, capability?: ModelCapability): string {
    const model = name === undefined ? this.defaultModel : this.find(name);
    if (model === undefined) {
      throw new ModelNotServedError(name ?? '', this.names);
    }
    if (capability !== undefined) {
      const has = this.capabilitiesOf(model);
      if (has !== undefined && !has.includes(capability)) {
        throw new ModelCapabilityError(model, capability, has);
      }
    }
    return model;
  }

  /** What `model` can do, once Ollama has told; `undefined` before. */
  capabilities(model: string): readonly ModelCapability[] | undefined {
    return this.capabilitiesOf(model);
  }
}

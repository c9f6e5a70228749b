/** The models present locally (as `ollama list` shows them) and the fake registry pulls come from. */
import { nowNs } from './go-time';
import { modelKey, normaliseModelName } from './model-names';
import { resolveModel, type RegistryModel, type ResolvedModel } from './model-registry';

interface LocalModel {
  info: ResolvedModel;
  modifiedAtNs: bigint;
}

/** The fake registry and the local model store. */
export class ModelCatalog {
  private registry = new Map<string, RegistryModel>();
  private readonly local = new Map<string, LocalModel>();

  constructor(registry: Record<string, RegistryModel>, models: readonly string[]) {
    this.setRegistry(registry);
    this.setLocal(models);
  }

  /** Adds or replaces one registry entry (the local copy, if any, keeps its old record). */
  register(normalised: string, entry: RegistryModel): void {
    this.registry.set(modelKey(normalised), entry);
  }

  setRegistry(registry: Record<string, RegistryModel>): void {
    this.registry = new Map();
    for (const [name, entry] of Object.entries(registry)) {
      const normalised = normaliseModelName(name);
      if (normalised !== undefined) {
        this.registry.set(modelKey(normalised), entry);
      }
    }
  }

  /** Replaces the local store; models that stay keep their modification time. */
  setLocal(models: readonly string[]): void {
    const names = models.map((raw) => {
      const normalised = normaliseModelName(raw);
      if (normalised === undefined) {
        throw new Error(`invalid model name in emulator options: ${JSON.stringify(raw)}`);
      }
      return normalised;
    });
    const previous = new Map(this.local);
    this.local.clear();
    const now = nowNs();
    names.forEach((normalised, index) => {
      const key = modelKey(normalised);
      // The first model listed is the newest, so /api/tags keeps the configured order.
      this.local.set(
        key,
        previous.get(key) ?? { info: this.resolve(normalised), modifiedAtNs: now - BigInt(index) * 3_600_000_000_000n },
      );
    });
  }

  localNames(): string[] {
    return [...this.local.values()].map((m) => m.info.name);
  }

  /** The registry's record for a name, if it can be pulled. */
  remote(normalised: string): ResolvedModel | undefined {
    const entry = this.registry.get(modelKey(normalised));
    return entry === undefined ? undefined : resolveModel(normalised, entry);
  }

  resolve(normalised: string): ResolvedModel {
    return resolveModel(normalised, this.registry.get(modelKey(normalised)));
  }

  find(normalised: string): { info: ResolvedModel; modifiedAtNs: bigint } | undefined {
    return this.local.get(modelKey(normalised));
  }

  /** Local models, newest first, as /api/tags lists them. */
  list(): Array<{ info: ResolvedModel; modifiedAtNs: bigint }> {
    return [...this.local.values()].sort((a, b) =>
      a.modifiedAtNs === b.modifiedAtNs ? 0 : a.modifiedAtNs > b.modifiedAtNs ? -1 : 1,
    );
  }

  add(info: ResolvedModel): void {
    this.local.set(modelKey(info.name), { info, modifiedAtNs: nowNs() });
  }

  remove(normalised: string): boolean {
    return this.local.delete(modelKey(normalised));
  }

  /** Digests of every blob on "disk", shared between models. */
  blobs(): Set<string> {
    const out = new Set<string>();
    for (const model of this.local.values()) {
      for (const layer of model.info.layers) {
        out.add(layer.digest);
      }
    }
    return out;
  }
}

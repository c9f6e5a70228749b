/**
 * Model names and model metadata: Ollama's name rules, the fake registry that pulls come from,
 * and the models present locally.
 */
import { createHash } from 'node:crypto';

import { nowNs } from './go-time';

export interface ModelDetails {
  parent_model: string;
  format: string;
  family: string;
  families: string[];
  parameter_size: string;
  quantization_level: string;
}

/** One blob of a model in the fake registry. Digest defaults to a hash of the model name. */
export interface RegistryLayer {
  size: number;
  digest?: string;
  mediaType?: string;
}

export interface RegistryModel {
  layers: RegistryLayer[];
  details?: Partial<ModelDetails>;
  /** Defaults to `['completion', 'tools']`. Add `'thinking'` to accept `think`. */
  capabilities?: string[];
  /** The GGUF's trained context length, shown by /api/show. */
  contextLength?: number;
}

export interface ResolvedLayer {
  /** `sha256:<64 hex>` */
  digest: string;
  size: number;
  mediaType: string;
}

export interface ResolvedModel {
  /** The short display name, e.g. `llama3.2:latest`. */
  name: string;
  /** Manifest digest, 64 hex characters without the `sha256:` prefix (as /api/tags shows it). */
  digest: string;
  size: number;
  layers: ResolvedLayer[];
  details: ModelDetails;
  capabilities: string[];
  contextLength: number;
}

const DEFAULT_HOST = 'registry.ollama.ai';
const DEFAULT_NAMESPACE = 'library';

const HOST_PART = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,349}$/;
const NAME_PART = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,79}$/;
const TAG_PART = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,79}$/;

export interface ModelName {
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

/** Ollama's `model.ParseName` followed by `IsValid()`; undefined for an invalid name. */
export function parseModelName(raw: string): ModelName | undefined {
  let rest = raw;
  const at = rest.indexOf('@');
  if (at >= 0) {
    rest = rest.slice(0, at);
  }
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  const model = parts.pop() ?? '';
  const namespace = parts.length > 0 ? (parts.pop() ?? '') : DEFAULT_NAMESPACE;
  const host = parts.length > 0 ? parts.join('/') : DEFAULT_HOST;
  if (!HOST_PART.test(host) || !NAME_PART.test(namespace) || !NAME_PART.test(model) || !TAG_PART.test(tag)) {
    return undefined;
  }
  return { host, namespace, model, tag };
}

/** `DisplayShortest`: `llama3.2` → `llama3.2:latest`; other hosts and namespaces stay visible. */
export function displayName(name: ModelName): string {
  if (name.host === DEFAULT_HOST && name.namespace === DEFAULT_NAMESPACE) {
    return `${name.model}:${name.tag}`;
  }
  if (name.host === DEFAULT_HOST) {
    return `${name.namespace}/${name.model}:${name.tag}`;
  }
  return `${name.host}/${name.namespace}/${name.model}:${name.tag}`;
}

/** The short normalised name, or undefined when Ollama would call the name invalid. */
export function normaliseModelName(raw: string): string | undefined {
  const parsed = parseModelName(raw);
  return parsed === undefined ? undefined : displayName(parsed);
}

/** Names compare case-insensitively in Ollama. */
export function modelKey(normalised: string): string {
  return normalised.toLowerCase();
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function guessParameterSize(name: ModelName): string {
  const fromTag = /(\d+(?:\.\d+)?)([bm])\b/i.exec(name.tag);
  if (fromTag?.[1] !== undefined && fromTag[2] !== undefined) {
    const count = Number(fromTag[1]);
    return fromTag[2].toLowerCase() === 'm' ? `${count}M` : `${count.toFixed(1)}B`;
  }
  if (/^llama3\.2/.test(name.model)) {
    return '3.2B';
  }
  return '8.0B';
}

function guessFamily(name: ModelName): string {
  const base = /^[a-z]+/i.exec(name.model)?.[0]?.toLowerCase() ?? 'llama';
  if (base === 'qwen') {
    return 'qwen2';
  }
  return base === 'mistral' || base === 'codellama' ? 'llama' : base;
}

function parameterCount(parameterSize: string): number {
  const match = /^(\d+(?:\.\d+)?)([BM])$/i.exec(parameterSize);
  if (match?.[1] === undefined || match[2] === undefined) {
    return 8e9;
  }
  return Number(match[1]) * (match[2].toUpperCase() === 'M' ? 1e6 : 1e9);
}

/** The size of a Q4_K_M GGUF, roughly 0.6 bytes per parameter. */
function approximateBlobSize(parameterSize: string): number {
  return Math.round(parameterCount(parameterSize) * 0.6);
}

export const MODEL_MEDIA_TYPE = 'application/vnd.ollama.image.model';
export const PARAMS_MEDIA_TYPE = 'application/vnd.ollama.image.params';

/** Builds a model's full record from a registry entry, or invents a consistent one from its name. */
export function resolveModel(normalised: string, entry: RegistryModel | undefined): ResolvedModel {
  const parsed = parseModelName(normalised) ?? {
    host: DEFAULT_HOST,
    namespace: DEFAULT_NAMESPACE,
    model: normalised,
    tag: 'latest',
  };
  const family = entry?.details?.family ?? guessFamily(parsed);
  const parameterSize = entry?.details?.parameter_size ?? guessParameterSize(parsed);
  const layersSpec: RegistryLayer[] = entry?.layers ?? [
    { size: approximateBlobSize(parameterSize), mediaType: MODEL_MEDIA_TYPE },
    { size: 96, mediaType: PARAMS_MEDIA_TYPE },
  ];
  const layers = layersSpec.map((layer, index) => {
    const hex = layer.digest?.replace(/^sha256[:-]/, '') ?? sha256Hex(`${modelKey(normalised)}#layer${index}`);
    return {
      digest: `sha256:${hex}`,
      size: layer.size,
      mediaType: layer.mediaType ?? (index === 0 ? MODEL_MEDIA_TYPE : PARAMS_MEDIA_TYPE),
    };
  });
  return {
    name: normalised,
    digest: sha256Hex(`${modelKey(normalised)}#manifest#${layers.map((l) => l.digest).join(',')}`),
    size: layers.reduce((sum, layer) => sum + layer.size, 0),
    layers,
    details: {
      parent_model: entry?.details?.parent_model ?? '',
      format: entry?.details?.format ?? 'gguf',
      family,
      families: entry?.details?.families ?? [family],
      parameter_size: parameterSize,
      quantization_level: entry?.details?.quantization_level ?? 'Q4_K_M',
    },
    capabilities: entry?.capabilities ?? ['completion', 'tools'],
    contextLength: entry?.contextLength ?? 131072,
  };
}

export function defaultRegistry(): Record<string, RegistryModel> {
  return {
    'llama3.1:latest': {
      layers: [{ size: 4_920_738_432 }, { size: 12_403, mediaType: 'application/vnd.ollama.image.license' }],
      details: { family: 'llama', parameter_size: '8.0B', quantization_level: 'Q4_K_M' },
    },
    'llama3.2:latest': {
      layers: [{ size: 2_019_377_376 }, { size: 6_016, mediaType: 'application/vnd.ollama.image.license' }],
      details: { family: 'llama', parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
    },
    'qwen2.5:0.5b': {
      layers: [{ size: 397_807_936 }, { size: 11_343, mediaType: 'application/vnd.ollama.image.license' }],
      details: { family: 'qwen2', parameter_size: '494.03M', quantization_level: 'Q4_K_M' },
      contextLength: 32768,
    },
  };
}

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

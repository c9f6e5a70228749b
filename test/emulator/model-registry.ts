/**
 * Model metadata: what the fake registry holds for each model (layers, details, capabilities, context
 * and embedding lengths), and a consistent record invented from the name for any other model.
 */
import { createHash } from 'node:crypto';

import type { Capability } from './capabilities';
import {
  DEFAULT_HOST,
  DEFAULT_NAMESPACE,
  fullModelName,
  modelKey,
  parseModelName,
  type ModelName,
} from './model-names';

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

/** A model as tests describe it; every field is optional and guessed from the name when missing. */
export interface RegistryModel {
  /** Blobs of the model; by default a weights blob sized from the parameter count and a params blob. */
  layers?: RegistryLayer[];
  details?: Partial<ModelDetails>;
  /**
   * What the model can do, as `/api/show` lists it. Guessed from the name when missing: names with
   * `embed`, `minilm`, `bge`, `e5` or `gte` are `['embedding']`, names with `llava` or `vision` are
   * `['completion', 'vision']`, anything else `['completion', 'tools']`. Add `'thinking'` to accept `think`.
   */
  capabilities?: Capability[];
  /** The GGUF's trained context length (`<arch>.context_length`); embedding inputs are cut at it. */
  contextLength?: number;
  /** Length of the model's vectors (`<arch>.embedding_length`): the dimension of its embeddings. */
  embeddingLength?: number;
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
  /** `registry.ollama.ai/library/llama3.2:latest`, as Ollama names the model in capability errors. */
  fullName: string;
  /** Manifest digest, 64 hex characters without the `sha256:` prefix (as /api/tags shows it). */
  digest: string;
  size: number;
  layers: ResolvedLayer[];
  details: ModelDetails;
  capabilities: Capability[];
  contextLength: number;
  embeddingLength: number;
}

export const MODEL_MEDIA_TYPE = 'application/vnd.ollama.image.model';
export const PARAMS_MEDIA_TYPE = 'application/vnd.ollama.image.params';
export const PROJECTOR_MEDIA_TYPE = 'application/vnd.ollama.image.projector';
const LICENSE_MEDIA_TYPE = 'application/vnd.ollama.image.license';

const EMBEDDING_NAME = /embed|minilm|bge|(^|-)e5|gte/i;
const VISION_NAME = /llava|vision/i;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function guessCapabilities(name: ModelName): Capability[] {
  if (EMBEDDING_NAME.test(name.model)) {
    return ['embedding'];
  }
  return VISION_NAME.test(name.model) ? ['completion', 'vision'] : ['completion', 'tools'];
}

function guessParameterSize(name: ModelName, embedding: boolean): string {
  const fromTag = /(\d+(?:\.\d+)?)([bm])\b/i.exec(name.tag);
  if (fromTag?.[1] !== undefined && fromTag[2] !== undefined) {
    const count = Number(fromTag[1]);
    return fromTag[2].toLowerCase() === 'm' ? `${count}M` : `${count.toFixed(1)}B`;
  }
  if (embedding) {
    return '137M';
  }
  return /^llama3\.2/.test(name.model) ? '3.2B' : '8.0B';
}

function guessFamily(name: ModelName, embedding: boolean): string {
  if (embedding) {
    return name.model.startsWith('nomic') ? 'nomic-bert' : 'bert';
  }
  const base = /^[a-z]+/i.exec(name.model)?.[0]?.toLowerCase() ?? 'llama';
  if (base === 'qwen') {
    return 'qwen2';
  }
  return base === 'mistral' || base === 'codellama' || base === 'llava' ? 'llama' : base;
}

function parameterCount(parameterSize: string): number {
  const match = /^(\d+(?:\.\d+)?)([BM])$/i.exec(parameterSize);
  if (match?.[1] === undefined || match[2] === undefined) {
    return 8e9;
  }
  return Number(match[1]) * (match[2].toUpperCase() === 'M' ? 1e6 : 1e9);
}

/** The size of a Q4_K_M GGUF is roughly 0.6 bytes per parameter; an F16 one 2 bytes. */
function approximateBlobSize(parameterSize: string, quantization: string): number {
  return Math.round(parameterCount(parameterSize) * (quantization === 'F16' ? 2 : 0.6));
}

/** Builds a model's full record from a registry entry, or invents a consistent one from its name. */
export function resolveModel(normalised: string, entry: RegistryModel | undefined): ResolvedModel {
  const parsed = parseModelName(normalised) ?? {
    host: DEFAULT_HOST,
    namespace: DEFAULT_NAMESPACE,
    model: normalised,
    tag: 'latest',
  };
  const capabilities = entry?.capabilities ?? guessCapabilities(parsed);
  const embedding = capabilities.includes('embedding') && !capabilities.includes('completion');
  const family = entry?.details?.family ?? guessFamily(parsed, embedding);
  const parameterSize = entry?.details?.parameter_size ?? guessParameterSize(parsed, embedding);
  const quantization = entry?.details?.quantization_level ?? (embedding ? 'F16' : 'Q4_K_M');
  const layersSpec: RegistryLayer[] = entry?.layers ?? [
    { size: approximateBlobSize(parameterSize, quantization), mediaType: MODEL_MEDIA_TYPE },
    ...(capabilities.includes('vision') ? [{ size: 624_434_336, mediaType: PROJECTOR_MEDIA_TYPE }] : []),
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
    fullName: fullModelName(normalised),
    digest: sha256Hex(`${modelKey(normalised)}#manifest#${layers.map((l) => l.digest).join(',')}`),
    size: layers.reduce((sum, layer) => sum + layer.size, 0),
    layers,
    details: {
      parent_model: entry?.details?.parent_model ?? '',
      format: entry?.details?.format ?? 'gguf',
      family,
      families: entry?.details?.families ?? [family],
      parameter_size: parameterSize,
      quantization_level: quantization,
    },
    capabilities: [...capabilities],
    contextLength: entry?.contextLength ?? (embedding ? 2048 : 131072),
    embeddingLength: entry?.embeddingLength ?? (embedding ? 768 : 4096),
  };
}

function license(size: number): RegistryLayer {
  return { size, mediaType: LICENSE_MEDIA_TYPE };
}

/**
 * The models `/api/pull` can fetch by default: chat models with tools, embedding models and vision
 * models, with the sizes, details and lengths the real ones have.
 */
export function defaultRegistry(): Record<string, RegistryModel> {
  const chat: Capability[] = ['completion', 'tools'];
  const vision: Capability[] = ['completion', 'vision'];
  return {
    'llama3.1:latest': {
      layers: [{ size: 4_920_738_432 }, license(12_403)],
      details: { family: 'llama', parameter_size: '8.0B', quantization_level: 'Q4_K_M' },
      capabilities: chat,
      embeddingLength: 4096,
    },
    'llama3.2:latest': {
      layers: [{ size: 2_019_377_376 }, license(6_016)],
      details: { family: 'llama', parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
      capabilities: chat,
      embeddingLength: 3072,
    },
    'qwen2.5:0.5b': {
      layers: [{ size: 397_807_936 }, license(11_343)],
      details: { family: 'qwen2', parameter_size: '494.03M', quantization_level: 'Q4_K_M' },
      capabilities: chat,
      contextLength: 32768,
      embeddingLength: 896,
    },
    'qwen2.5:7b': {
      layers: [{ size: 4_683_073_184 }, license(11_343)],
      details: { family: 'qwen2', parameter_size: '7.6B', quantization_level: 'Q4_K_M' },
      capabilities: chat,
      contextLength: 32768,
      embeddingLength: 3584,
    },
    'nomic-embed-text:latest': {
      layers: [{ size: 274_290_656 }, license(11_357)],
      details: { family: 'nomic-bert', parameter_size: '137M', quantization_level: 'F16' },
      capabilities: ['embedding'],
      contextLength: 2048,
      embeddingLength: 768,
    },
    'all-minilm:latest': {
      layers: [{ size: 45_949_216 }, license(11_357)],
      details: { family: 'bert', parameter_size: '23M', quantization_level: 'F16' },
      capabilities: ['embedding'],
      contextLength: 512,
      embeddingLength: 384,
    },
    'mxbai-embed-large:latest': {
      layers: [{ size: 669_603_712 }, license(11_357)],
      details: { family: 'bert', parameter_size: '334M', quantization_level: 'F16' },
      capabilities: ['embedding'],
      contextLength: 512,
      embeddingLength: 1024,
    },
    'llava:latest': {
      layers: [{ size: 4_108_916_384 }, { size: 624_434_336, mediaType: PROJECTOR_MEDIA_TYPE }, license(11_356)],
      details: { family: 'llama', families: ['llama', 'clip'], parameter_size: '7B', quantization_level: 'Q4_0' },
      capabilities: vision,
      contextLength: 32768,
      embeddingLength: 4096,
    },
    'llama3.2-vision:latest': {
      layers: [{ size: 7_816_589_186 }, license(7_712)],
      details: { family: 'mllama', families: ['mllama'], parameter_size: '10.7B', quantization_level: 'Q4_K_M' },
      capabilities: vision,
      embeddingLength: 4096,
    },
  };
}

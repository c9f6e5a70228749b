/**
 * Ollama's native API on the wire (`/api/*`), as far as this service uses it. Durations are integer
 * nanoseconds, timestamps RFC 3339 strings. Fields Ollama omits when empty are optional here.
 */

/** A number is seconds, a string a Go duration; negative means forever. */
export type OllamaKeepAlive = number | string;

/** Runner and sampling options; `num_ctx` and the other load options must match between warm-up and chat. */
export type OllamaOptions = Record<string, unknown>;

export interface OllamaVersionResponse {
  version: string;
}

export interface OllamaModelDetails {
  parent_model?: string;
  format?: string;
  family?: string;
  families?: string[] | null;
  parameter_size?: string;
  quantization_level?: string;
}

export interface OllamaTagsModel {
  name: string;
  model: string;
  modified_at: string;
  size: number;
  digest: string;
  details?: OllamaModelDetails;
}

export interface OllamaTagsResponse {
  models: OllamaTagsModel[];
}

export interface OllamaPsModel {
  name: string;
  model: string;
  size: number;
  digest: string;
  details?: OllamaModelDetails;
  /** When the idle model will be unloaded; year ~2318 when it stays forever. */
  expires_at: string;
  size_vram: number;
  context_length?: number;
}

export interface OllamaPsResponse {
  models: OllamaPsModel[];
}

export interface OllamaShowResponse {
  modelfile?: string;
  parameters?: string;
  template?: string;
  details?: OllamaModelDetails;
  model_info?: Record<string, unknown>;
  capabilities?: string[];
  modified_at?: string;
}

export interface OllamaPullProgress {
  status: string;
  digest?: string;
  total?: number;
  /** Absent while it is 0. */
  completed?: number;
}

export interface OllamaMetrics {
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
  prompt_eval_duration?: number;
  eval_count?: number;
  eval_duration?: number;
}

export type OllamaDoneReason = 'stop' | 'length' | 'load' | 'unload';

export interface OllamaGenerateRequest {
  model: string;
  prompt?: string;
  stream?: boolean;
  keep_alive?: OllamaKeepAlive;
  options?: OllamaOptions;
}

export interface OllamaGenerateResponse extends OllamaMetrics {
  model: string;
  created_at: string;
  response: string;
  done: boolean;
  done_reason?: OllamaDoneReason;
}

export interface OllamaToolCall {
  id?: string;
  function: { index?: number; name: string; arguments: Record<string, unknown> };
}

export interface OllamaTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export interface OllamaChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  thinking?: string;
  images?: string[];
  tool_calls?: OllamaToolCall[];
  tool_name?: string;
}

export interface OllamaChatRequest {
  model: string;
  messages: OllamaChatMessage[];
  stream?: boolean;
  keep_alive?: OllamaKeepAlive;
  options?: OllamaOptions;
  format?: 'json' | Record<string, unknown>;
  think?: boolean;
  tools?: OllamaTool[];
}

export interface OllamaChatChunk extends OllamaMetrics {
  model: string;
  created_at: string;
  message: OllamaChatMessage;
  done: boolean;
  done_reason?: OllamaDoneReason;
}

export interface OllamaEmbedRequest {
  model: string;
  input: string | string[];
  truncate?: boolean;
  dimensions?: number;
  keep_alive?: OllamaKeepAlive;
  options?: OllamaOptions;
}

export interface OllamaEmbedResponse {
  model: string;
  embeddings: number[][];
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
}

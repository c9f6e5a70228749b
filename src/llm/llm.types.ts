/** What feature modules hand to the `Llm` port: Ollama's chat request, less what the gateway decides. */
export interface LlmMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface LlmOptions {
  temperature?: number;
  top_p?: number;
  num_predict?: number;
  seed?: number;
  stop?: string[];
}

export interface LlmChatRequest {
  /** A served model, with or without `:latest`; absent: the default model (OLLAMA_MODEL). */
  model?: string;
  messages: LlmMessage[];
  options?: LlmOptions;
  /** Ollama structured outputs: `'json'` or a JSON schema object. */
  format?: 'json' | Record<string, unknown>;
}

export interface LlmEmbedRequest {
  /** A served model with the `embedding` capability. */
  model: string;
  input: string[];
  /** Passed to Ollama, which truncates (and renormalises) the vectors. */
  dimensions?: number;
}

export interface LlmEmbedResult {
  /** The served model's configured name. */
  model: string;
  embeddings: number[][];
  promptTokens: number;
}

export interface LlmCallOptions {
  /** Aborts the upstream request (and so Ollama's generation), e.g. when the client disconnects. */
  signal?: AbortSignal;
  /** Label for metrics: `chat`, `risk`, `openai`, `embeddings`… */
  endpoint: string;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

/** Milliseconds, from Ollama's nanosecond durations plus our own queue time. */
export interface LlmTimings {
  totalMs: number;
  queueMs: number;
  loadMs: number;
  promptEvalMs: number;
  evalMs: number;
  tokensPerSecond: number;
}

export type LlmDoneReason = 'stop' | 'length';

export interface LlmChatResult {
  content: string;
  /** The served model's configured name, whatever alias the request used. */
  model: string;
  doneReason: LlmDoneReason;
  usage: LlmUsage;
  timings: LlmTimings;
}

/** Events of a streamed chat: deltas, then exactly one `done`. Failures are thrown by the iterator. */
export type LlmStreamEvent = { type: 'delta'; text: string } | { type: 'done'; result: Omit<LlmChatResult, 'content'> };

/** Lifecycle of a served model, as `/health/llm` reports it. */
export type LlmState = 'starting' | 'pulling' | 'loading' | 'ready' | 'degraded';

/** What a model can do, as Ollama's `/api/show` reports it (`completion`, `tools`, `vision`, `embedding`, …). */
export type ModelCapability = string;

/** Pull progress over all layers: bytes completed over bytes in total. */
export interface PullProgress {
  percent: number;
  status: string;
}

/** One served model as the probes see it. */
export interface ModelStatus {
  state: LlmState;
  reason?: string;
  pull?: PullProgress;
  /** The model is in Ollama's memory as far as we know, so a request will not pay its load time. */
  warm: boolean;
  /** From `/api/show`; empty until Ollama was asked. */
  capabilities: ModelCapability[];
}

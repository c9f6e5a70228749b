/** What feature modules hand to `LlmService`: Ollama's chat request, less what the service decides. */
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
  messages: LlmMessage[];
  options?: LlmOptions;
  /** Ollama structured outputs: `'json'` or a JSON schema object. */
  format?: 'json' | Record<string, unknown>;
}

export interface LlmCallOptions {
  /** Aborts the upstream request (and so Ollama's generation), e.g. when the client disconnects. */
  signal?: AbortSignal;
  /** Label for metrics: `chat`, `risk`, `openai`… */
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
  model: string;
  doneReason: LlmDoneReason;
  usage: LlmUsage;
  timings: LlmTimings;
}

/** Events of a streamed chat: deltas, then exactly one `done`. Failures are thrown by the iterator. */
export type LlmStreamEvent = { type: 'delta'; text: string } | { type: 'done'; result: Omit<LlmChatResult, 'content'> };

/** Lifecycle of the served model, as `/health/llm` reports it. */
export type LlmState = 'starting' | 'pulling' | 'loading' | 'ready' | 'degraded';

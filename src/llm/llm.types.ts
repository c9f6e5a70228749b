import type { RequestContext } from '../common/http/request-context';
import type { EmbeddingVectors } from './embedding-vectors';

/** What feature modules hand to the `Llm` port: Ollama's chat request, less what the gateway decides. */
export interface LlmMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Base64 images (no `data:` prefix) for a model with the `vision` capability. */
  images?: string[];
  /** On an assistant message: the tool calls it made. */
  toolCalls?: LlmToolCall[];
  /** On a tool message: the name of the tool whose result this is. */
  toolName?: string;
}

/** A function the model may call: its name, what it does, and a JSON schema (an object) of its arguments. */
export interface LlmTool {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** A call of a tool as the model made it; `arguments` is an object, as Ollama gives it. */
export interface LlmToolCall {
  name: string;
  arguments: Record<string, unknown>;
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
  /** Tools the model may call (needs the `tools` capability). */
  tools?: LlmTool[];
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
  /** One per input, in order; kept as the JSON text they came in. */
  embeddings: EmbeddingVectors;
  promptTokens: number;
}

/** A call of Ollama's own API, relayed as it is (the gateway's `/api/*`). */
export interface LlmForwardRequest {
  /**
   * The served model (its configured name) of an inference call: it is admitted, routed and guarded
   * like every other. Absent for the control paths (`/api/version`, `/api/tags`, `/api/ps`, `/api/show`).
   */
  model?: string;
  method: 'GET' | 'POST';
  path: string;
  /** Sent as JSON. */
  body?: unknown;
}

/** Ollama's answer, relayed: its status and content type, and its body's bytes as they come. */
export interface LlmForwardResponse {
  status: number;
  contentType?: string;
  /** Reading to the end, or leaving early, ends the call (leaving early aborts Ollama's generation). */
  body: AsyncIterable<Buffer>;
}

export interface LlmCallOptions {
  /** Aborts the upstream request (and so Ollama's generation), e.g. when the client disconnects. */
  signal?: AbortSignal;
  /** Label for metrics: `chat`, `risk`, `openai`, `embeddings`… */
  endpoint: string;
  /** The id of the HTTP request this call serves: what is logged about the call carries it as `reqId`. */
  requestId?: string;
}

/** The options of a call labelled `endpoint` made for the request `caller` describes. */
export function callOptionsFor(endpoint: string, { signal, requestId }: RequestContext): LlmCallOptions {
  return { signal, endpoint, requestId };
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
  /** Calls of the request's tools the model made instead of (or besides) answering; absent when none. */
  toolCalls?: LlmToolCall[];
  /** The served model's configured name, whatever alias the request used. */
  model: string;
  doneReason: LlmDoneReason;
  usage: LlmUsage;
  timings: LlmTimings;
}

/**
 * Events of a streamed chat: text deltas and tool calls (Ollama sends all of a reply's calls in one
 * chunk), then exactly one `done`. Failures are thrown by the iterator.
 */
export type LlmStreamEvent =
  | { type: 'delta'; text: string }
  | { type: 'tool_calls'; calls: LlmToolCall[] }
  | { type: 'done'; result: Omit<LlmChatResult, 'content' | 'toolCalls'> };

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

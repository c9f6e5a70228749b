import type { RegistryModel } from './model-registry';

/** Names under which requests are counted and faults are targeted. */
export type EndpointName =
  | 'root'
  | 'version'
  | 'tags'
  | 'ps'
  | 'show'
  | 'pull'
  | 'delete'
  | 'copy'
  | 'generate'
  | 'chat'
  | 'embed'
  | 'embeddings'
  | 'status'
  | 'openai-chat'
  | 'openai-embeddings'
  | 'openai-models'
  | 'unsupported';

/** Requests that run the model: counted in `inFlight`, and as aborted when their client leaves. */
export const INFERENCE_ENDPOINTS: readonly EndpointName[] = [
  'chat',
  'generate',
  'openai-chat',
  'embed',
  'embeddings',
  'openai-embeddings',
];

/** What a `replyText` or `toolCalls` function gets to decide the model's answer. */
export interface ReplyRequest {
  endpoint: 'chat' | 'generate' | 'openai-chat';
  /** The model exactly as the request named it. */
  model: string;
  /** The last user message (chat) or the prompt (generate). */
  prompt: string;
  /** Chat messages with their content flattened to text (tool results included); empty for generate. */
  messages: Array<{ role: string; content: string }>;
  /** Images the request carried, over all messages (chat) or in `images` (generate). */
  images: number;
  /** The `tools` offered, by function name with their `parameters` schema; empty when none. */
  tools: ToolSpec[];
  /** Tool results (`tool` messages) after the last user message, oldest first. */
  toolResults: ToolResult[];
  /** The decoded request body. */
  body: Record<string, unknown>;
}

/** One function a chat request offers the model. */
export interface ToolSpec {
  name: string;
  /** The JSON schema of its arguments, as the request sent it. */
  parameters: unknown;
}

/** A tool result the conversation hands back to the model. */
export interface ToolResult {
  /** `tool_name`, else the name of the assistant's tool call it answers, else `''`. */
  name: string;
  content: string;
}

/** A tool call the emulated model makes; `arguments` default to a sample of the tool's schema. */
export interface ScriptedToolCall {
  name: string;
  arguments?: Record<string, unknown>;
}

/**
 * How the model uses the tools of a chat request that offers some:
 * - `'auto'` (default): calls the first tool offered;
 * - `'none'`: answers with text;
 * - `'all'`: calls every tool offered at once (parallel calls, delivered in one chunk);
 * - `{ calls }`: makes exactly these calls.
 * Once a tool result follows the last user message the model answers with text that quotes the
 * results, whatever the mode (a `toolCalls` function decides that case too).
 */
export type ToolCallMode = 'auto' | 'none' | 'all' | { calls: ScriptedToolCall[] };

export interface AccessLogEntry {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  remoteAddress: string;
}

export interface EmulatorOptions {
  /** Reported by /api/version. */
  version: string;
  /** Models present locally (as `ollama list` would show them). */
  models: string[];
  /** Models that /api/pull can fetch, by name; their capabilities and lengths also apply locally. */
  registry: Record<string, RegistryModel>;
  /** Time a model takes to load when it is not resident. */
  loadTimeMs: number;
  /** Delay before each streamed token. */
  tokenDelayMs: number;
  /**
   * The model's answer; by default an echo of the last user message (which also says how many images
   * came with it). A string does not replace the answer to tool results; a function decides everything.
   */
  replyText?: string | ((request: ReplyRequest) => string);
  /** Returned (as JSON text) when the request sets `format`; by default sampled from the schema. */
  structuredReply?: unknown;
  /**
   * How the model uses offered tools (see {@link ToolCallMode}); default `'auto'`. A function is asked
   * for every chat request that offers tools, tool results included. A user message may also carry
   * `[[tools: none]]`, `[[tools: all]]` or `[[tools: name1, name2]]`, which wins over this option.
   */
  toolCalls?: ToolCallMode | ((request: ReplyRequest) => ToolCallMode);
  /** Delay between pull progress lines. */
  pullChunkDelayMs: number;
  /** Progress lines per downloaded layer. */
  pullChunks: number;
  /** `OLLAMA_KEEP_ALIVE` of the emulated server: a Go duration, integer seconds as a string, or seconds. */
  defaultKeepAlive: string | number;
  /** `OLLAMA_NUM_PARALLEL`: requests one loaded model serves at once; more wait. 0 = unlimited. */
  numParallel: number;
  /** `num_ctx` used when a request does not set one; a different `num_ctx` reloads the model. */
  defaultNumCtx: number;
  /** Called once per answered request, like gin's access log. */
  accessLog?: (entry: AccessLogEntry) => void;
}

interface FaultTargeting {
  /** Requests the fault applies to before it is used up; default: every request until cleared. */
  times?: number;
  /** Default `['chat', 'generate']`. */
  endpoints?: EndpointName[];
}

export type Fault = FaultTargeting &
  (
    | { kind: 'http-error'; status?: number; message?: string }
    | { kind: 'busy' }
    | { kind: 'hang' }
    | { kind: 'hang-after-first-chunk' }
    | { kind: 'mid-stream-error'; afterChunks?: number; message?: string }
    | { kind: 'invalid-structured-output' }
    | { kind: 'drop-connection' }
  );

export type FaultKind = Fault['kind'];

/** What one request brought to the emulator, as a test wants to check it. */
export interface RequestRecord {
  endpoint: EndpointName;
  method: string;
  /** The path without the query string. */
  path: string;
  /** The parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  /** `model` (or `name`) exactly as the body gave it. */
  model?: string;
  /** The raw `keep_alive`; the key is present only when the body carried the field. */
  keepAlive?: unknown;
  /** The raw `options`, when the body carried them. */
  options?: unknown;
  /** The raw `tools`, when the body carried them. */
  tools?: unknown;
  /** The raw `format` (or `/v1` `response_format`), when the body carried it. */
  format?: unknown;
  /** Images carried: `images` of generate plus `images` of every chat message. */
  images: number;
  /** The raw `stream`, when the body carried it (Ollama streams when it is missing). */
  stream?: unknown;
  /** The status sent, once the answer is complete (also 499 when the client left first). */
  status?: number;
  /** True when the client went away before the answer was complete. */
  aborted: boolean;
}

/** Counters of one model, keyed in `stats.models` by its short normalised name in lower case (`llama3.1:latest`). */
export interface ModelStats {
  /** Requests that named this model, by endpoint (whatever their outcome). */
  requests: Partial<Record<EndpointName, number>>;
  /** Loads of this model that completed. */
  loads: number;
  /** Unloads of this model (expiry, keep_alive 0, reload for other options, unloadAll). */
  unloads: number;
  /** Inference requests for this model whose client left before the answer was complete. */
  aborted: number;
}

export interface EmulatorStats {
  /** Requests received, by endpoint name. */
  requests: Record<string, number>;
  /** Per model: requests by endpoint, loads, unloads, aborted requests. */
  models: Record<string, ModelStats>;
  /** Model loads that completed. */
  loads: number;
  /** Resident models unloaded (expiry, keep_alive 0, reload for other options, unloadAll). */
  unloads: number;
  /** Loads given up because every request waiting for them went away. */
  abandonedLoads: number;
  /** Raw `keep_alive` values received, in order (requests without the field are skipped). */
  keepAliveSeen: unknown[];
  /** Inference requests (chat, generate, embed, embeddings, /v1 chat and embeddings) being handled now. */
  inFlight: number;
  /** The highest `inFlight` seen. */
  maxConcurrentInference: number;
  /** Inference requests whose client disconnected before the answer was complete (the aborted count). */
  abortedStreams: number;
  /** Pulls whose client disconnected before the end. */
  abortedPulls: number;
  /** The last 50 requests, oldest first. */
  lastRequests: RequestRecord[];
}

/** Which requests a query on the records or counters means; every field given must match. */
export interface RequestFilter {
  endpoint?: EndpointName;
  /** Any spelling of the name: `llama3.1` matches `llama3.1:latest` and `LLAMA3.1`. */
  model?: string;
}

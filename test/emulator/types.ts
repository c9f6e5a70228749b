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
  | 'status'
  | 'openai-chat'
  | 'openai-models'
  | 'unsupported';

export const INFERENCE_ENDPOINTS: readonly EndpointName[] = ['chat', 'generate', 'openai-chat'];

/** What a `replyText` function gets to decide the model's answer. */
export interface ReplyRequest {
  endpoint: 'chat' | 'generate' | 'openai-chat';
  /** The model exactly as the request named it. */
  model: string;
  /** The last user message (chat) or the prompt (generate). */
  prompt: string;
  /** Chat messages with their content flattened to text; empty for generate. */
  messages: Array<{ role: string; content: string }>;
  /** The decoded request body. */
  body: Record<string, unknown>;
}

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
  /** Models that /api/pull can fetch, by name. */
  registry: Record<string, RegistryModel>;
  /** Time a model takes to load when it is not resident. */
  loadTimeMs: number;
  /** Delay before each streamed token. */
  tokenDelayMs: number;
  /** The model's answer; by default an echo of the last user message. */
  replyText?: string | ((request: ReplyRequest) => string);
  /** Returned (as JSON text) when the request sets `format`; by default sampled from the schema. */
  structuredReply?: unknown;
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

export interface RequestRecord {
  endpoint: EndpointName;
  /** The parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
}

export interface EmulatorStats {
  /** Requests received, by endpoint name. */
  requests: Record<string, number>;
  /** Model loads that completed. */
  loads: number;
  /** Resident models unloaded (expiry, keep_alive 0, reload for other options, unloadAll). */
  unloads: number;
  /** Loads given up because every request waiting for them went away. */
  abandonedLoads: number;
  /** Raw `keep_alive` values received, in order (requests without the field are skipped). */
  keepAliveSeen: unknown[];
  /** Inference requests (chat, generate, /v1/chat/completions) being handled now. */
  inFlight: number;
  /** The highest `inFlight` seen. */
  maxConcurrentInference: number;
  /** Inference requests whose client disconnected before the answer was complete. */
  abortedStreams: number;
  /** Pulls whose client disconnected before the end. */
  abortedPulls: number;
  /** The last 50 requests. */
  lastRequests: RequestRecord[];
}

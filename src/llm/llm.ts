import type {
  LlmCallOptions,
  LlmChatRequest,
  LlmChatResult,
  LlmEmbedRequest,
  LlmEmbedResult,
  LlmForwardRequest,
  LlmForwardResponse,
  LlmState,
  LlmStreamEvent,
  ModelCapability,
  ModelStatus,
  PullProgress,
} from './llm.types';
import type { CircuitStatus } from './upstream-policy';

/** The models and the default one as the probes see them; makes no network call. */
export interface LlmStatus {
  /** The default model's state; the top-level fields describe it. */
  state: LlmState;
  model: string;
  reason?: string;
  pull?: PullProgress;
  warm: boolean;
  circuit: CircuitStatus;
  queueDepth: number;
  inFlight: number;
  /** Why the default model cannot serve now, in an operator's words (absent when it can). */
  problem?: string;
  /** Every served model, by its configured name. */
  models: Record<string, ModelStatus & { problem?: string }>;
}

/** A served model as clients may list it. */
export interface ServedModel {
  /** The configured name. */
  name: string;
  /** From Ollama's `/api/show`; empty until Ollama was asked. */
  capabilities: ModelCapability[];
}

/**
 * Inference, as every feature module sees it: the injection token `LlmModule` exports, so that chat,
 * risk and the OpenAI API (and their tests) depend on this and not on how it is done.
 *
 * Every call names a served model (or none: the default) and is checked before any call to Ollama:
 * @throws ModelNotServedError (404) for a model that is not served.
 * @throws ModelCapabilityError (400) for a model that cannot do what is asked.
 * and then admitted, routed, retried and bounded:
 * @throws ServiceUnavailableError (503, with `retryAfterSeconds`) when the model is not ready, the
 *   circuit is open, the service is overloaded or shutting down, or Ollama is unreachable.
 * @throws UpstreamTimeoutError (504) when Ollama did not answer within OLLAMA_TIMEOUT.
 * @throws BadGatewayError (502) when Ollama answered with an error or something unusable.
 * @throws LlmCallAbortedError when `options.signal` aborted the call.
 */
export abstract class Llm {
  /** The default model (OLLAMA_MODEL). */
  abstract readonly defaultModel: string;

  /** Every served model, the default first. */
  abstract models(): ServedModel[];

  /** The configured name of a served model, or `undefined` when `name` is not served (aliases count). */
  abstract findModel(name: string): string | undefined;

  /** Non-streamed chat, bounded by OLLAMA_TIMEOUT. */
  abstract chat(request: LlmChatRequest, options: LlmCallOptions): Promise<LlmChatResult>;

  /**
   * Streamed chat. The promise settles once the request was admitted and Ollama answered 200, so
   * failures before the first byte reject it (and can still become a proper HTTP status). The iterable
   * then yields deltas and one `done`, and throws UpstreamTimeoutError (no chunk for OLLAMA_TIMEOUT),
   * BadGatewayError (Ollama failed midway) or ServiceUnavailableError `shutting_down`. Leaving the loop,
   * or aborting `options.signal`, aborts Ollama's generation.
   */
  abstract stream(request: LlmChatRequest, options: LlmCallOptions): Promise<AsyncIterable<LlmStreamEvent>>;

  /** Embeddings of every input, in order, from a model with the `embedding` capability. */
  abstract embed(request: LlmEmbedRequest, options: LlmCallOptions): Promise<LlmEmbedResult>;

  /**
   * Relays a call of Ollama's own API. An inference call (one with `model`) is admitted, routed,
   * retried before its first byte, guarded by the circuit breaker, bounded by OLLAMA_TIMEOUT (between
   * chunks) and counted like every other; a control call goes to a server that answers. Ollama's own
   * 4xx answers come back as answers; its failures throw as for `chat`.
   */
  abstract forward(request: LlmForwardRequest, options: LlmCallOptions): Promise<LlmForwardResponse>;

  /** A snapshot for health checks; makes no network call. */
  abstract status(): LlmStatus;

  /**
   * Stops admitting (new and queued calls get 503 `shutting_down`), waits for calls in flight up to
   * `gracePeriodMs`, then aborts the rest. Idempotent: later calls return the first drain.
   */
  abstract drain(gracePeriodMs: number): Promise<void>;
}

import type { KeepAlive } from '../../config/duration';
import type {
  LlmChatRequest,
  LlmChatResult,
  LlmEmbedRequest,
  LlmEmbedResult,
  LlmForwardRequest,
  LlmMessage,
  LlmTimings,
  LlmToolCall,
} from '../llm.types';
import {
  OllamaChatChunk,
  OllamaChatMessage,
  OllamaChatRequest,
  OllamaEmbedRequest,
  OllamaEmbedResponse,
  OllamaGenerateResponse,
  OllamaOptions,
  OllamaPsResponse,
  OllamaPullProgress,
  OllamaShowResponse,
  OllamaTagsResponse,
  OllamaToolCall,
  OllamaVersionResponse,
} from './ollama-api.types';
import { readEmbedAnswer } from './embed-answer';
import { OllamaClientError } from './ollama-client.errors';
import { OllamaCallOptions, OllamaHttp, OllamaRawAnswer, OllamaStreamOptions } from './ollama-http';

export type { OllamaCallOptions, OllamaRawAnswer, OllamaStreamOptions } from './ollama-http';

/**
 * Options that decide how Ollama loads a model (`num_ctx`, `num_batch`, …). A request whose load
 * options differ from the loaded runner's makes Ollama reload the model, so the warm-up and every
 * inference send exactly these. Empty: both leave them to the server (`OLLAMA_CONTEXT_LENGTH`).
 */
export const LOAD_OPTIONS: Readonly<OllamaOptions> = Object.freeze({});

/** How the gateway talks to every Ollama server: the `keep_alive` it owns, and its connection pool size. */
export interface OllamaClientSettings {
  keepAlive: KeepAlive;
  maxSockets: number;
}

/** How a model is loaded: chat models by an empty generate, embedding models by an empty embed. */
export type LoadKind = 'generate' | 'embed';

/** The result of a chat as far as Ollama knows it; the caller adds its own queue time. */
export type OllamaChatResult = Omit<LlmChatResult, 'timings'> & { timings: Omit<LlmTimings, 'queueMs'> };
export type OllamaStreamEvent =
  | { type: 'delta'; text: string }
  | { type: 'tool_calls'; calls: LlmToolCall[] }
  | { type: 'done'; result: Omit<OllamaChatResult, 'content' | 'toolCalls'> };

/**
 * One Ollama server's native API, spoken in the service's own types: a chat request goes in, a chat
 * result or stream events come out; the gateway's `keep_alive` and load options are added here, and
 * Ollama's nanoseconds become milliseconds here. Every call takes an `AbortSignal` and a time limit and
 * fails with an `OllamaClientError`; Ollama's own error text stays in its `detail` (for logs).
 * It owns its connection pool: `destroy()` closes it.
 */
export class OllamaClient {
  private readonly http: OllamaHttp;

  constructor(
    /** Base URL without a trailing slash. */
    readonly baseUrl: string,
    private readonly settings: OllamaClientSettings,
  ) {
    this.http = new OllamaHttp(baseUrl, settings.maxSockets);
  }

  /** `GET /api/version`. */
  version(options: OllamaCallOptions): Promise<OllamaVersionResponse> {
    return this.http.json<OllamaVersionResponse>('GET', '/api/version', undefined, options);
  }

  /** `GET /api/tags`: the models on disk. */
  tags(options: OllamaCallOptions): Promise<OllamaTagsResponse> {
    return this.http.json<OllamaTagsResponse>('GET', '/api/tags', undefined, options);
  }

  /** `GET /api/ps`: the models in memory, with `expires_at`. */
  ps(options: OllamaCallOptions): Promise<OllamaPsResponse> {
    return this.http.json<OllamaPsResponse>('GET', '/api/ps', undefined, options);
  }

  /** `POST /api/show`. Throws `model_not_found` for a model Ollama does not have. */
  show(model: string, options: OllamaCallOptions): Promise<OllamaShowResponse> {
    return this.http.json<OllamaShowResponse>('POST', '/api/show', { model }, options);
  }

  /**
   * Loads `model` into memory with the gateway's `keep_alive` (an empty generate, or an empty embed for
   * an embedding model), which also restarts its `keep_alive` countdown. Give it the load timeout.
   * @returns Ollama's `done_reason` for a generate load (`load` when all went as expected).
   */
  async load(model: string, kind: LoadKind, options: OllamaCallOptions): Promise<string | undefined> {
    const keep_alive = this.settings.keepAlive.apiValue;
    if (kind === 'embed') {
      const body: OllamaEmbedRequest = { model, input: [], keep_alive, options: { ...LOAD_OPTIONS } };
      await this.http.json<OllamaEmbedResponse>('POST', '/api/embed', body, options);
      return undefined;
    }
    const body = { model, stream: false, keep_alive, options: { ...LOAD_OPTIONS } };
    const reply = await this.http.json<OllamaGenerateResponse>('POST', '/api/generate', body, options);
    return reply.done_reason;
  }

  /** `POST /api/chat` without streaming: the whole reply. */
  async chat(model: string, request: LlmChatRequest, options: OllamaCallOptions): Promise<OllamaChatResult> {
    const reply = await this.http.json<OllamaChatChunk>(
      'POST',
      '/api/chat',
      this.chatBody(model, request, false),
      options,
    );
    if (typeof reply.message?.content !== 'string' || reply.done !== true) {
      throw new OllamaClientError('protocol', 'Ollama answered chat without a complete message');
    }
    const toolCalls = toToolCalls(reply.message.tool_calls);
    return { content: reply.message.content, ...(toolCalls.length > 0 && { toolCalls }), ...toResult(model, reply) };
  }

  /**
   * `POST /api/chat` streamed. Resolves once Ollama answered 200, so errors before the first chunk
   * reject here. The iterable yields the non-empty deltas, then one `done`; leaving it early aborts
   * the generation.
   */
  async chatStream(
    model: string,
    request: LlmChatRequest,
    options: OllamaStreamOptions,
  ): Promise<AsyncGenerator<OllamaStreamEvent>> {
    const chunks = await this.http.stream<OllamaChatChunk>(
      '/api/chat',
      this.chatBody(model, request, true),
      options,
      (chunk) => chunk.done,
    );
    return toEvents(model, chunks);
  }

  /** `POST /api/embed`: one vector per input, in order. */
  async embed(model: string, request: LlmEmbedRequest, options: OllamaCallOptions): Promise<LlmEmbedResult> {
    const body: OllamaEmbedRequest = {
      model,
      input: request.input,
      keep_alive: this.settings.keepAlive.apiValue,
      options: { ...LOAD_OPTIONS },
      ...(request.dimensions !== undefined && { dimensions: request.dimensions }),
    };
    const { vectors, promptTokens } = readEmbedAnswer(await this.http.collect('POST', '/api/embed', body, options));
    if (vectors.length !== request.input.length) {
      throw new OllamaClientError('protocol', 'Ollama answered embed without one vector per input');
    }
    return { model, embeddings: vectors, promptTokens };
  }

  /**
   * Relays a call of Ollama's own API as it is (the gateway's `/api/*`): the body goes as given, the
   * answer comes back as bytes. Failures of Ollama's (5xx, unreachable, silent) throw; its 4xx answers
   * are returned for the caller to pass on.
   */
  forward(request: LlmForwardRequest, options: OllamaStreamOptions): Promise<OllamaRawAnswer> {
    return this.http.raw(request.method, request.path, request.body, options);
  }

  /**
   * `POST /api/pull` streamed. Yields progress lines up to and including `{"status":"success"}`. It has
   * no time limit of its own: a pull is long, and only the caller knows when it has stalled.
   */
  pull(model: string, signal: AbortSignal): Promise<AsyncGenerator<OllamaPullProgress>> {
    return this.http.stream<OllamaPullProgress>(
      '/api/pull',
      { model, stream: true },
      { signal, idleTimeoutMs: Infinity },
      (progress) => progress.status === 'success',
    );
  }

  /** Closes the connection pool. Safe to call twice. */
  destroy(): void {
    this.http.destroy();
  }

  private chatBody(model: string, request: LlmChatRequest, stream: boolean): OllamaChatRequest {
    const { temperature, top_p, num_predict, seed, stop } = request.options ?? {};
    const sampling: OllamaOptions = {};
    for (const [name, value] of Object.entries({ temperature, top_p, num_predict, seed, stop })) {
      if (value !== undefined) {
        sampling[name] = value;
      }
    }
    return {
      model,
      messages: request.messages.map(toOllamaMessage),
      stream,
      keep_alive: this.settings.keepAlive.apiValue,
      // The load options come last so that nothing can make this request reload the model.
      options: { ...sampling, ...LOAD_OPTIONS },
      ...(request.format !== undefined && { format: request.format }),
      ...(request.tools !== undefined &&
        request.tools.length > 0 && {
          tools: request.tools.map(({ name, description, parameters }) => ({
            type: 'function' as const,
            function: { name, ...(description !== undefined && { description }), parameters },
          })),
        }),
    };
  }
}

async function* toEvents(model: string, chunks: AsyncGenerator<OllamaChatChunk>): AsyncGenerator<OllamaStreamEvent> {
  try {
    for await (const chunk of chunks) {
      const text = chunk.message?.content ?? '';
      if (text !== '') {
        yield { type: 'delta', text };
      }
      const calls = toToolCalls(chunk.message?.tool_calls);
      if (calls.length > 0) {
        yield { type: 'tool_calls', calls };
      }
      if (chunk.done) {
        yield { type: 'done', result: toResult(model, chunk) };
      }
    }
  } finally {
    await chunks.return(undefined);
  }
}

function toOllamaMessage(message: LlmMessage): OllamaChatMessage {
  return {
    role: message.role,
    content: message.content,
    ...(message.images !== undefined && message.images.length > 0 && { images: message.images }),
    ...(message.toolCalls !== undefined &&
      message.toolCalls.length > 0 && {
        tool_calls: message.toolCalls.map(({ name, arguments: args }) => ({ function: { name, arguments: args } })),
      }),
    ...(message.toolName !== undefined && { tool_name: message.toolName }),
  };
}

/** Ollama's tool calls, without the malformed ones (a call needs a name and an object of arguments). */
function toToolCalls(calls: OllamaToolCall[] | undefined): LlmToolCall[] {
  const result: LlmToolCall[] = [];
  for (const call of calls ?? []) {
    const fn = call.function as Partial<OllamaToolCall['function']> | undefined;
    if (typeof fn?.name === 'string') {
      const args = fn.arguments;
      result.push({
        name: fn.name,
        arguments: typeof args === 'object' && args !== null && !Array.isArray(args) ? args : {},
      });
    }
  }
  return result;
}

/** Milliseconds with two decimals, from Ollama's nanoseconds. */
function nsToMs(ns: number | undefined): number {
  return ns === undefined ? 0 : Math.round(ns / 1e4) / 100;
}

function toResult(model: string, reply: OllamaChatChunk): Omit<OllamaChatResult, 'content'> {
  const promptTokens = reply.prompt_eval_count ?? 0;
  const completionTokens = reply.eval_count ?? 0;
  const evalNs = reply.eval_duration ?? 0;
  return {
    model,
    doneReason: reply.done_reason === 'length' ? 'length' : 'stop',
    usage: { promptTokens, completionTokens },
    timings: {
      totalMs: nsToMs(reply.total_duration),
      loadMs: nsToMs(reply.load_duration),
      promptEvalMs: nsToMs(reply.prompt_eval_duration),
      evalMs: nsToMs(evalNs),
      tokensPerSecond: evalNs > 0 ? Math.round((completionTokens / evalNs) * 1e9 * 100) / 100 : 0,
    },
  };
}

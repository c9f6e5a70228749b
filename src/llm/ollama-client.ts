import { HttpService } from '@nestjs/axios';
import { Injectable, Logger } from '@nestjs/common';
import { isAxiosError, type AxiosResponse, type Method } from 'axios';
import type { Readable } from 'node:stream';
import { OllamaEndpoint } from '../ollama-process/ollama-endpoint';
import { CallScope } from './call-scope';
import { NdjsonParseError, readNdjson } from './ndjson';
import {
  OllamaChatChunk,
  OllamaChatRequest,
  OllamaGenerateRequest,
  OllamaGenerateResponse,
  OllamaPsResponse,
  OllamaPullProgress,
  OllamaShowResponse,
  OllamaTagsResponse,
  OllamaVersionResponse,
} from './ollama-api.types';
import { OllamaClientError } from './ollama-client.errors';

export interface OllamaCallOptions {
  signal?: AbortSignal;
  /** Milliseconds the whole answer may take. */
  timeoutMs: number;
}

export interface OllamaStreamOptions {
  signal?: AbortSignal;
  /** Milliseconds of silence allowed before the headers and between chunks; `Infinity` for none. */
  idleTimeoutMs: number;
}

/** Error bodies of failed calls are read up to this size; the rest is noise for a log line. */
const ERROR_BODY_LIMIT = 16 * 1024;

/** Socket errors that mean Ollama is not there, or went away. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const BUSY_TEXT = 'server busy';

/**
 * Ollama's native HTTP API, typed. Every call takes an `AbortSignal` and a time limit, and fails with
 * an `OllamaClientError` whose `kind` says what went wrong; Ollama's own error text stays in its
 * `detail` (for logs). Streams are NDJSON parsed into async iterables: the HTTP status is checked
 * first, an `{"error"}` line throws, and a stream ending before its last object throws too.
 * Leaving a stream's loop early aborts the upstream request, which makes Ollama stop generating.
 */
@Injectable()
export class OllamaClient {
  private readonly logger = new Logger(OllamaClient.name);

  constructor(
    private readonly http: HttpService,
    private readonly endpoint: OllamaEndpoint,
  ) {}

  /** `GET /api/version`. */
  version(options: OllamaCallOptions): Promise<OllamaVersionResponse> {
    return this.requestJson<OllamaVersionResponse>('GET', '/api/version', undefined, options);
  }

  /** `GET /api/tags`: the models on disk. */
  tags(options: OllamaCallOptions): Promise<OllamaTagsResponse> {
    return this.requestJson<OllamaTagsResponse>('GET', '/api/tags', undefined, options);
  }

  /** `GET /api/ps`: the models in memory, with `expires_at`. */
  ps(options: OllamaCallOptions): Promise<OllamaPsResponse> {
    return this.requestJson<OllamaPsResponse>('GET', '/api/ps', undefined, options);
  }

  /** `POST /api/show`. Throws `model_not_found` for a model Ollama does not have. */
  show(model: string, options: OllamaCallOptions): Promise<OllamaShowResponse> {
    return this.requestJson<OllamaShowResponse>('POST', '/api/show', { model }, options);
  }

  /**
   * `POST /api/generate` without streaming. With no prompt this loads the model (`done_reason: load`):
   * give it the load timeout, not the inference one.
   */
  generate(request: OllamaGenerateRequest, options: OllamaCallOptions): Promise<OllamaGenerateResponse> {
    return this.requestJson<OllamaGenerateResponse>('POST', '/api/generate', { ...request, stream: false }, options);
  }

  /** `POST /api/chat` without streaming: one object with the whole reply. */
  async chat(request: OllamaChatRequest, options: OllamaCallOptions): Promise<OllamaChatChunk> {
    const reply = await this.requestJson<OllamaChatChunk>('POST', '/api/chat', { ...request, stream: false }, options);
    if (typeof reply.message?.content !== 'string' || reply.done !== true) {
      throw new OllamaClientError('protocol', 'Ollama answered chat without a complete message');
    }
    return reply;
  }

  /**
   * `POST /api/chat` streamed. Resolves once Ollama answered 200, so errors before the first chunk
   * (status codes, refused connections, a silent server) reject here. The iterable yields every chunk up
   * to and including the one with `done: true`.
   */
  chatStream(request: OllamaChatRequest, options: OllamaStreamOptions): Promise<AsyncGenerator<OllamaChatChunk>> {
    return this.openStream<OllamaChatChunk>('/api/chat', { ...request, stream: true }, options, (chunk) => chunk.done);
  }

  /**
   * `POST /api/pull` streamed. Yields progress lines up to and including `{"status":"success"}`. It has
   * no time limit of its own: a pull is long, and only the caller knows when it has stalled.
   */
  pull(model: string, signal: AbortSignal): Promise<AsyncGenerator<OllamaPullProgress>> {
    return this.openStream<OllamaPullProgress>(
      '/api/pull',
      { model, stream: true },
      { signal, idleTimeoutMs: Infinity },
      (progress) => progress.status === 'success',
    );
  }

  private url(path: string): string {
    return `${this.endpoint.baseUrl}${path}`;
  }

  private async requestJson<T>(method: Method, path: string, body: unknown, options: OllamaCallOptions): Promise<T> {
    const scope = new CallScope(options.signal, options.timeoutMs);
    scope.arm();
    try {
      const response = await this.http.axiosRef.request<string>({
        method,
        url: this.url(path),
        data: body,
        responseType: 'text',
        transformResponse: (data: string) => data,
        validateStatus: () => true,
        signal: scope.signal,
      });
      if (response.status !== 200) {
        throw this.statusError(path, response.status, response.data);
      }
      try {
        return JSON.parse(response.data) as T;
      } catch {
        throw new OllamaClientError('protocol', `Ollama answered ${path} with something that is not JSON`);
      }
    } catch (error) {
      throw this.toClientError(error, scope, path);
    } finally {
      scope.end();
    }
  }

  private async openStream<T extends object>(
    path: string,
    body: unknown,
    options: OllamaStreamOptions,
    isLast: (item: T) => boolean,
  ): Promise<AsyncGenerator<T>> {
    const scope = new CallScope(options.signal, options.idleTimeoutMs);
    scope.arm();
    let response: AxiosResponse<Readable>;
    try {
      response = await this.http.axiosRef.request<Readable>({
        method: 'POST',
        url: this.url(path),
        data: body,
        responseType: 'stream',
        validateStatus: () => true,
        signal: scope.signal,
      });
      if (response.status !== 200) {
        const text = await readLimited(response.data, ERROR_BODY_LIMIT);
        throw this.statusError(path, response.status, text);
      }
    } catch (error) {
      scope.end();
      throw this.toClientError(error, scope, path);
    }
    return this.iterate(response.data, scope, path, isLast);
  }

  private async *iterate<T extends object>(
    stream: Readable,
    scope: CallScope,
    path: string,
    isLast: (item: T) => boolean,
  ): AsyncGenerator<T> {
    const lines = readNdjson(stream);
    try {
      for (;;) {
        // The timer measures Ollama's silence only, not the time the consumer spends between chunks.
        scope.arm();
        const next = await lines.next();
        scope.disarm();
        if (next.done) {
          throw new OllamaClientError('protocol', `Ollama's ${path} stream ended before its last object`);
        }
        const item = next.value;
        if (typeof item !== 'object' || item === null) {
          throw new OllamaClientError('protocol', `Ollama's ${path} stream carried a line that is not an object`);
        }
        if ('error' in item) {
          throw new OllamaClientError('upstream', `Ollama reported an error in the ${path} stream`, String(item.error));
        }
        yield item as T;
        if (isLast(item as T)) {
          return;
        }
      }
    } catch (error) {
      throw this.toClientError(error, scope, path);
    } finally {
      // Also reached when the consumer leaves the loop early: closing the connection stops Ollama.
      scope.end();
      stream.destroy();
    }
  }

  private statusError(path: string, status: number, text: string): OllamaClientError {
    const detail = errorText(text);
    if (status === 404 && /not found/i.test(detail) && detail !== '404 page not found') {
      return new OllamaClientError('model_not_found', `Ollama does not have the model (${path})`, detail, status);
    }
    if (status === 503 && detail.includes(BUSY_TEXT)) {
      return new OllamaClientError('busy', 'Ollama is busy: its request queue is full', detail, status);
    }
    return new OllamaClientError('upstream', `Ollama answered ${path} with HTTP ${status}`, detail, status);
  }

  private toClientError(error: unknown, scope: CallScope, path: string): OllamaClientError {
    if (error instanceof OllamaClientError) {
      return error;
    }
    if (scope.timedOut) {
      return new OllamaClientError(
        'timeout',
        `Ollama did not answer ${path} within ${scope.timeoutMs} ms`,
        undefined,
        undefined,
        {
          cause: error,
        },
      );
    }
    if (scope.callerAborted) {
      return new OllamaClientError('aborted', `the call to ${path} was aborted`, undefined, undefined, {
        cause: error,
      });
    }
    if (error instanceof NdjsonParseError) {
      return new OllamaClientError('protocol', `Ollama's ${path} stream carried a line that is not JSON`, error.line);
    }
    const code = socketErrorCode(error);
    if (code !== undefined && UNREACHABLE_CODES.has(code)) {
      return new OllamaClientError(
        'unreachable',
        `Ollama is unreachable at ${this.endpoint.baseUrl} (${code})`,
        undefined,
        undefined,
        {
          cause: error,
        },
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn({ err: error, path }, 'unexpected failure calling Ollama');
    return new OllamaClientError('unreachable', `the call to Ollama's ${path} failed`, message, undefined, {
      cause: error,
    });
  }
}

/** `{"error":"…"}` gives its message; anything else (plain text) is kept as it is, trimmed. */
function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      return String(parsed.error);
    }
  } catch {
    // Not JSON: the router's plain-text answers such as `404 page not found`.
  }
  return body.trim().slice(0, 500);
}

function socketErrorCode(error: unknown): string | undefined {
  if (isAxiosError(error)) {
    const cause = error.cause as { code?: unknown } | undefined;
    if (typeof cause?.code === 'string') {
      return cause.code;
    }
    if (error.code !== undefined) {
      return error.code;
    }
    return error.message === 'socket hang up' ? 'ECONNRESET' : undefined;
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    return code;
  }
  return error instanceof Error && (error.message === 'aborted' || error.message === 'socket hang up')
    ? 'ECONNRESET'
    : undefined;
}

async function readLimited(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(buffer);
      size += buffer.length;
      if (size >= limit) {
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}

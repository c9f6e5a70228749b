import { HttpService } from '@nestjs/axios';
import { Logger } from '@nestjs/common';
import axios, { isAxiosError, type AxiosResponse, type Method } from 'axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { CallScope } from './call-scope';
import { NdjsonParseError, readNdjson } from './ndjson';
import { OllamaClientError } from './ollama-client.errors';
import { errorText } from '../../common/errors';

export interface OllamaCallOptions {
  signal?: AbortSignal;
  /** Milliseconds the whole answer may take. */
  timeoutMs: number;
}

/** An answer of Ollama's as it came, for relaying. */
export interface OllamaRawAnswer {
  status: number;
  contentType?: string;
  body: AsyncGenerator<Buffer>;
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
 * The HTTP side of one Ollama server: one keep-alive connection pool (reusing connections is what
 * makes short requests cheap), JSON calls and NDJSON streams, each bounded by an `AbortSignal` and a
 * time limit, failing with an `OllamaClientError` whose `kind` says what went wrong. Streams check the
 * HTTP status first, throw on an `{"error"}` line and on an end before their last object; leaving a
 * stream's loop early closes the connection, which makes Ollama stop generating.
 */
export class OllamaHttp {
  private readonly logger = new Logger(OllamaHttp.name);
  private readonly agent: HttpAgent;
  private readonly http: HttpService;
  private destroyed = false;

  constructor(
    /** Base URL without a trailing slash. */
    readonly baseUrl: string,
    maxSockets: number,
  ) {
    const options = { keepAlive: true, maxSockets };
    this.agent = baseUrl.startsWith('https:') ? new HttpsAgent(options) : new HttpAgent(options);
    // `proxy: false`: HTTP(S)_PROXY of the environment must not reroute calls to a local Ollama.
    this.http = new HttpService(axios.create({ httpAgent: this.agent, httpsAgent: this.agent, proxy: false }));
  }

  async json<T>(method: Method, path: string, body: unknown, options: OllamaCallOptions): Promise<T> {
    const scope = new CallScope(options.signal, options.timeoutMs);
    scope.arm();
    try {
      const response = await this.http.axiosRef.request<string>({
        method,
        url: `${this.baseUrl}${path}`,
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

  /**
   * Resolves once Ollama answered 200, so errors before the first line (status codes, refused
   * connections, a silent server) reject here. The iterable yields every object up to and including
   * the one `isLast` accepts.
   */
  async stream<T extends object>(
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
        url: `${this.baseUrl}${path}`,
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

  /**
   * An answer to relay as it is: its status, content type and body bytes. Statuses that say Ollama
   * failed (5xx, a 404 for a missing model) throw as any other call does, so that they can be retried;
   * the others (2xx, Ollama's own 4xx refusals) are the caller's to pass on. The body's silence is
   * bounded as a stream's is; leaving its loop closes the connection.
   */
  async raw(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    options: OllamaStreamOptions,
  ): Promise<OllamaRawAnswer> {
    const scope = new CallScope(options.signal, options.idleTimeoutMs);
    scope.arm();
    let response: AxiosResponse<Readable>;
    try {
      response = await this.http.axiosRef.request<Readable>({
        method,
        url: `${this.baseUrl}${path}`,
        data: body,
        responseType: 'stream',
        // Bytes as they come: Ollama's answers are relayed, not decoded.
        decompress: false,
        validateStatus: () => true,
        signal: scope.signal,
      });
      if (response.status >= 500 || response.status === 404) {
        const text = await readLimited(response.data, ERROR_BODY_LIMIT);
        const failure = this.statusError(path, response.status, text);
        if (response.status >= 500 || failure.kind === 'model_not_found') {
          throw failure;
        }
        scope.end();
        return { status: response.status, contentType: contentTypeOf(response), body: single(Buffer.from(text)) };
      }
    } catch (error) {
      scope.end();
      throw this.toClientError(error, scope, path);
    }
    return {
      status: response.status,
      contentType: contentTypeOf(response),
      body: this.bytes(response.data, scope, path),
    };
  }

  /** Closes every socket. Safe to call twice. */
  destroy(): void {
    if (!this.destroyed) {
      this.destroyed = true;
      this.agent.destroy();
    }
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

  private async *bytes(stream: Readable, scope: CallScope, path: string): AsyncGenerator<Buffer> {
    const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        scope.arm();
        const next = await chunks.next();
        scope.disarm();
        if (next.done === true) {
          return;
        }
        yield next.value;
      }
    } catch (error) {
      throw this.toClientError(error, scope, path);
    } finally {
      scope.end();
      stream.destroy();
    }
  }

  private statusError(path: string, status: number, text: string): OllamaClientError {
    const detail = ollamaErrorMessage(text);
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
        { cause: error },
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
        `Ollama is unreachable at ${this.baseUrl} (${code})`,
        undefined,
        undefined,
        { cause: error },
      );
    }
    const message = errorText(error);
    this.logger.warn({ err: error, path }, 'unexpected failure calling Ollama');
    return new OllamaClientError('unreachable', `the call to Ollama's ${path} failed`, message, undefined, {
      cause: error,
    });
  }
}

function contentTypeOf(response: AxiosResponse): string | undefined {
  const value: unknown = response.headers['content-type'];
  return typeof value === 'string' ? value : undefined;
}

function single(chunk: Buffer): AsyncGenerator<Buffer> {
  return (async function* () {
    yield await Promise.resolve(chunk);
  })();
}

/** Ollama's `{"error":"…"}` gives its message; anything else (plain text) is kept as it is, trimmed. */
export function ollamaErrorMessage(body: string): string {
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

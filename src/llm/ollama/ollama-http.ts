import { Logger } from '@nestjs/common';
import { Pool } from './undici-pool';
import { NdjsonParseError, readNdjson } from './ndjson';
import { OllamaClientError } from './ollama-client.errors';
import { UpstreamExchange, type ExchangeLimit } from './upstream-exchange';
import { errorText } from '../../common/errors';

export type OllamaMethod = 'GET' | 'POST';

export interface OllamaCallOptions {
  signal?: AbortSignal;
  /** Milliseconds the whole answer may take. */
  timeoutMs: number;
  /** The HTTP request the call serves, if any: logged as `reqId`. */
  requestId?: string;
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
  /** The HTTP request the call serves, if any: logged as `reqId`. */
  requestId?: string;
}

/**
 * How long an idle connection to Ollama is kept for the next call. Ollama never closes idle
 * connections (its `http.Server` has no idle timeout and sends no `Keep-Alive` hint), so this decides
 * alone; a server that hints at a shorter time is obeyed. With undici's default of 4 s, a burst after a
 * few seconds of quiet opened every connection again: 64 streams started together 6 s apart waited
 * 40–55 ms longer for their first token here. An idle connection costs one socket on each side.
 */
const IDLE_CONNECTION_MS = 60_000;

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
  // undici: the connection closed under a request, or could not be opened in time, or the pool is closed.
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

const BUSY_TEXT = 'server busy';

/**
 * The HTTP side of one Ollama server: one keep-alive connection pool of undici's (reusing
 * connections is what makes short requests cheap; undici answers them without a stream object per
 * request), JSON calls and NDJSON streams, each bounded by an `AbortSignal` and a time limit, failing
 * with an `OllamaClientError` whose `kind` says what went wrong. Streams check the HTTP status first,
 * throw on an `{"error"}` line and on an end before their last object; leaving a stream's loop early
 * closes the connection, which makes Ollama stop generating.
 */
export class OllamaHttp {
  private readonly logger = new Logger(OllamaHttp.name);
  private readonly pool: Pool;
  /** The base URL's path, for an Ollama behind a reverse proxy at a prefix. */
  private readonly prefix: string;
  private destroyed = false;

  constructor(
    /** Base URL without a trailing slash. */
    readonly baseUrl: string,
    maxSockets: number,
  ) {
    const url = new URL(baseUrl);
    this.prefix = url.pathname.replace(/\/+$/, '');
    // No proxy: undici's Pool ignores HTTP(S)_PROXY, which must not reroute calls to a local Ollama.
    this.pool = new Pool(url.origin, { connections: maxSockets, pipelining: 1, keepAliveTimeout: IDLE_CONNECTION_MS });
  }

  /**
   * One JSON call: resolves with the parsed answer of a 200.
   * @throws OllamaClientError: as `collect`, and `protocol` for an answer that is not JSON.
   */
  async json<T>(method: OllamaMethod, path: string, body: unknown, options: OllamaCallOptions): Promise<T> {
    const answer = await this.collect(method, path, body, options);
    try {
      return JSON.parse(answer.toString('utf8')) as T;
    } catch {
      throw new OllamaClientError('protocol', `Ollama answered ${path} with something that is not JSON`);
    }
  }

  /**
   * One call whose whole answer is wanted as bytes: resolves with the body of a 200.
   * @throws OllamaClientError: the status's kind, `timeout` after `timeoutMs` for the whole answer,
   *   `aborted` when the caller's signal fires.
   */
  async collect(method: OllamaMethod, path: string, body: unknown, options: OllamaCallOptions): Promise<Buffer> {
    const exchange = new UpstreamExchange({ kind: 'deadline', ms: options.timeoutMs }, options.signal);
    let answer;
    try {
      answer = await exchange.collect(this.pool, this.request(method, path, body));
    } catch (error) {
      throw this.toClientError(error, exchange, path, options.requestId);
    }
    if (answer.status !== 200) {
      throw this.statusError(path, answer.status, answer.body.toString('utf8'));
    }
    return answer.body;
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
    const { exchange, status } = await this.open('POST', path, body, options);
    if (status !== 200) {
      throw this.statusError(path, status, await this.errorBody(exchange, path, options.requestId));
    }
    return this.iterate(exchange, path, isLast, options.requestId);
  }

  /**
   * An answer to relay as it is: its status, content type and body bytes. Statuses that say Ollama
   * failed (5xx, a 404 for a missing model) throw as any other call does, so that they can be retried;
   * the others (2xx, Ollama's own 4xx refusals) are the caller's to pass on. The body's silence is
   * bounded as a stream's is; leaving its loop closes the connection.
   */
  async raw(method: OllamaMethod, path: string, body: unknown, options: OllamaStreamOptions): Promise<OllamaRawAnswer> {
    const { exchange, status, contentType } = await this.open(method, path, body, options);
    if (status >= 500 || status === 404) {
      const text = await this.errorBody(exchange, path, options.requestId);
      const failure = this.statusError(path, status, text);
      if (status >= 500 || failure.kind === 'model_not_found') {
        throw failure;
      }
      return { status, ...(contentType !== undefined && { contentType }), body: single(Buffer.from(text)) };
    }
    return {
      status,
      ...(contentType !== undefined && { contentType }),
      body: this.bytes(exchange, path, options.requestId),
    };
  }

  /** Closes every socket. Safe to call twice. */
  destroy(): void {
    if (!this.destroyed) {
      this.destroyed = true;
      this.pool.destroy().catch(() => undefined);
    }
  }

  private request(method: OllamaMethod, path: string, body: unknown) {
    return {
      method,
      path: `${this.prefix}${path}`,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    };
  }

  /** Sends a request whose body is read as it comes; resolves with its head once the headers are in. */
  private async open(
    method: OllamaMethod,
    path: string,
    body: unknown,
    options: OllamaStreamOptions,
  ): Promise<{ exchange: UpstreamExchange; status: number; contentType?: string }> {
    const limit: ExchangeLimit = { kind: 'idle', ms: options.idleTimeoutMs };
    const exchange = new UpstreamExchange(limit, options.signal);
    try {
      const head = await exchange.open(this.pool, this.request(method, path, body));
      return { exchange, ...head };
    } catch (error) {
      throw this.toClientError(error, exchange, path, options.requestId);
    }
  }

  private async errorBody(exchange: UpstreamExchange, path: string, requestId?: string): Promise<string> {
    try {
      return await exchange.readText(ERROR_BODY_LIMIT);
    } catch (error) {
      throw this.toClientError(error, exchange, path, requestId);
    }
  }

  private async *iterate<T extends object>(
    exchange: UpstreamExchange,
    path: string,
    isLast: (item: T) => boolean,
    requestId?: string,
  ): AsyncGenerator<T> {
    const lines = readNdjson(exchange.chunks());
    try {
      for (;;) {
        const next = await lines.next();
        if (next.done === true) {
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
      throw this.toClientError(error, exchange, path, requestId);
    } finally {
      // Also reached when the consumer leaves the loop early: closing the connection stops Ollama.
      await lines.return(undefined);
      exchange.abandon();
    }
  }

  private async *bytes(exchange: UpstreamExchange, path: string, requestId?: string): AsyncGenerator<Buffer> {
    try {
      yield* exchange.chunks();
    } catch (error) {
      throw this.toClientError(error, exchange, path, requestId);
    } finally {
      exchange.abandon();
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

  private toClientError(
    error: unknown,
    exchange: UpstreamExchange,
    path: string,
    requestId: string | undefined,
  ): OllamaClientError {
    if (error instanceof OllamaClientError) {
      return error;
    }
    if (exchange.timedOut) {
      return new OllamaClientError(
        'timeout',
        `Ollama did not answer ${path} within ${exchange.limitMs} ms`,
        undefined,
        undefined,
        { cause: error },
      );
    }
    if (exchange.callerAborted) {
      return new OllamaClientError('aborted', `the call to ${path} was aborted`, undefined, undefined, {
        cause: error,
      });
    }
    if (error instanceof NdjsonParseError) {
      return new OllamaClientError('protocol', `Ollama's ${path} stream carried a line that is not JSON`, error.line);
    }
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
      return new OllamaClientError(
        'unreachable',
        `Ollama is unreachable at ${this.baseUrl} (${code})`,
        undefined,
        undefined,
        { cause: error },
      );
    }
    const message = errorText(error);
    this.logger.warn({ err: error, path, reqId: requestId }, 'unexpected failure calling Ollama');
    return new OllamaClientError('unreachable', `the call to Ollama's ${path} failed`, message, undefined, {
      cause: error,
    });
  }
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

import type { FastifyHttpOptions } from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Configuration } from '../config/environment';

/** Time to send the request line and headers; a client that trickles them (slowloris) is cut off with 408. */
export const HEADERS_TIMEOUT_MS = 20_000;
/** Time to send the whole request, body included (at most BODY_LIMIT_BYTES); then 408. */
export const REQUEST_TIMEOUT_MS = 60_000;
/**
 * An idle keep-alive connection is closed after this. Longer than the 60 s idle timeout of common
 * proxies and load balancers, so they close first and never reuse a socket this side just closed.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/**
 * After this many requests a connection is closed, so long-lived clients spread over new connections
 * (see `closeAfterLastAllowedAnswer`).
 */
export const MAX_REQUESTS_PER_SOCKET = 1_000;
/** Node's default made explicit: request line and headers together may not exceed 16 KiB (else 431). */
export const MAX_HEADER_SIZE_BYTES = 16_384;
/** Route parameters longer than this get 414 (Fastify's default, made explicit; no route here takes one). */
export const MAX_PARAM_LENGTH = 100;
/** How often the header and request timeouts are checked (Node's default of 30 s would add up to 30 s to them). */
export const TIMEOUT_CHECK_INTERVAL_MS = 5_000;
/** Slack on top of the longest legitimate silence: retry backoff, scheduling on a busy machine. */
const INACTIVITY_SLACK_MS = 60_000;

/**
 * The longest a connection may legitimately see no traffic while a request is being answered: a
 * non-streamed inference request waits for a slot (`LLM_QUEUE_TIMEOUT`), then for Ollama, possibly
 * retried (`OLLAMA_TIMEOUT` × (1 + `OLLAMA_MAX_RETRIES`)); a stream may be silent for `OLLAMA_TIMEOUT`.
 */
export function longestLegitimateSilenceMs(config: Pick<Configuration, 'ollama' | 'llm'>): number {
  return config.llm.queueTimeoutMs + config.ollama.timeoutMs * (1 + config.ollama.maxRetries);
}

/**
 * Fastify server options that keep slow or idle clients from holding sockets forever, for
 * `new FastifyAdapter({ ...serverLimits(config), ... })`. Receiving a request is bounded tightly (headers,
 * then the body); answering it is bounded only by socket inactivity, set well past the longest silence
 * an inference request may legitimately have, so a client that stops reading is eventually dropped
 * without ever cutting off a slow model. JSON bodies with `__proto__` or `constructor.prototype` keys are
 * refused (400) before any code sees them.
 */
export function serverLimits(config: Pick<Configuration, 'ollama' | 'llm'>): Partial<FastifyHttpOptions<Server>> {
  return {
    connectionTimeout: longestLegitimateSilenceMs(config) + INACTIVITY_SLACK_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    maxRequestsPerSocket: MAX_REQUESTS_PER_SOCKET,
    http: {
      headersTimeout: HEADERS_TIMEOUT_MS,
      maxHeaderSize: MAX_HEADER_SIZE_BYTES,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      // Node would answer a missing Host with an empty 400; `lacksHostHeader` lets the service say it.
      requireHostHeader: false,
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  };
}

/** Node's flag on the answer to a connection's last allowed request (`maxRequestsPerSocket`). */
type LimitedResponse = ServerResponse & { maxRequestsOnConnectionReached?: boolean };

/**
 * Ends a connection after the answer to its last allowed request. Node marks that answer with
 * `Connection: close` but keeps the socket open, answering every later request on it with an empty 503
 * until the keep-alive timeout. Setting the header ourselves makes Node end the socket once the answer
 * is written. Requests a client pipelined behind it are dropped unanswered, as HTTP allows after
 * `Connection: close`; clients send them again on a new connection. Call before the answer's head is
 * written (an `onRequest` hook), so streamed answers carry it too.
 */
export function closeAfterLastAllowedAnswer(res: ServerResponse): void {
  if ((res as LimitedResponse).maxRequestsOnConnectionReached === true) {
    res.setHeader('connection', 'close');
  }
}

/**
 * The content codings of a request body the service cannot read (any but `identity`), comma-separated
 * as sent, or `undefined`. HTTP asks a server to refuse a body in a coding it does not support with 415;
 * read as it is, a compressed body would only make a puzzling "not valid JSON", and a body labelled
 * compressed but sent plain would be taken on trust. A request without a body is never refused for it.
 */
export function unsupportedContentCoding(req: IncomingMessage): string | undefined {
  const header = req.headers['content-encoding'];
  if (header === undefined || !hasBody(req)) {
    return undefined;
  }
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  return codings.length === 0 ? undefined : codings.join(', ');
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * An HTTP/1.1 request without a `Host` header, which HTTP requires a server to refuse with 400. Node
 * would write that 400 itself, bare; with `requireHostHeader: false` the service refuses it in its own
 * error shape instead.
 */
export function lacksHostHeader(req: IncomingMessage): boolean {
  return req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1;
}

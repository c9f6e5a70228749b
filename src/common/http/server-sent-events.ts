import { Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PassThrough, Readable, Writable } from 'node:stream';
import { ClientStalledError, dropClient } from './client-disconnect';

/** One Server-Sent Event: `event` is omitted for the default ("message") type. */
export interface ServerSentEvent {
  event?: string;
  data: unknown;
}

/**
 * Headers of an event stream. `X-Accel-Buffering: no` stops nginx from buffering the stream, which
 * would hold every delta back until the end. No `Connection`: Node writes `keep-alive` itself, and
 * `close` on the answer to a connection's last allowed request (`closeAfterLastAllowedAnswer`), which a
 * `keep-alive` set here would overrule, leaving the client to reuse a connection Node answers with 503.
 */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  // no-store: nothing between us and the client keeps a copy of an answer.
  'cache-control': 'no-cache, no-store',
  'x-accel-buffering': 'no',
};

/** `event:` line (when named) and one `data:` line; JSON never contains a raw line break. */
export function formatServerSentEvent({ event, data }: ServerSentEvent): string {
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`;
}

export interface EventStreamOptions<T> {
  /** Frames one event; the default writes `event:`/`data:` lines (OpenAI's stream has its own framing). */
  format?: (event: T) => string;
  /**
   * Milliseconds the client may accept nothing while the next event waits to be written
   * (OLLAMA_TIMEOUT); after that the client is dropped.
   */
  stallTimeoutMs: number;
}

const logger = new Logger('EventStream');

/**
 * Answers `reply` with the event stream of `events`: sets the event-stream headers and returns the body
 * for the handler to return, so that Fastify writes it and Nest's guards, filter and latency
 * interceptor apply as to any answer.
 *
 * The next event is taken from `events` only when the client has accepted the earlier ones (up to a
 * small buffer), so a slow reader slows the generation down instead of filling memory. A client that
 * accepts nothing for `stallTimeoutMs` is dropped: the reply's client-disconnect signal fires with a
 * {@link ClientStalledError} and the connection is closed. However the stream ends early (dropped,
 * or the client left), the iteration of `events` is ended (`return()`), which ends the model call and
 * gives its slot back. `events` must not throw; a failure should already be its last event.
 */
export function sendEventStream<T = ServerSentEvent>(
  reply: FastifyReply,
  events: AsyncIterable<T>,
  { format = formatServerSentEvent as (event: T) => string, stallTimeoutMs }: EventStreamOptions<T>,
): Readable {
  void reply.headers(EVENT_STREAM_HEADERS);
  const requestId = String(reply.request.id);
  const body = new PassThrough();
  const drop = (): void => {
    const reason = new ClientStalledError(stallTimeoutMs);
    logger.warn({ reqId: requestId }, reason.message);
    dropClient(reply, reason);
    body.destroy();
  };
  void pump(events[Symbol.asyncIterator](), body, { format, stallTimeoutMs, drop, requestId });
  return body;
}

interface PumpOptions<T> {
  format: (event: T) => string;
  stallTimeoutMs: number;
  /** Gives up on the client; `body` is destroyed after it. */
  drop: () => void;
  /** Of the request answered, for the log. */
  requestId: string;
}

/** Writes the events into `body` one at a time, waiting for room after each write that filled it. */
async function pump<T>(events: AsyncIterator<T>, body: Writable, options: PumpOptions<T>): Promise<void> {
  let ended = false;
  try {
    while (!body.destroyed) {
      const next = await events.next();
      if (next.done === true) {
        ended = true;
        if (!body.destroyed) {
          body.end();
        }
        return;
      }
      if (!body.destroyed && !body.write(options.format(next.value))) {
        if ((await drainOf(body, options.stallTimeoutMs)) === 'stalled') {
          options.drop();
        }
      }
    }
  } catch (error) {
    ended = true;
    body.destroy(error instanceof Error ? error : new Error(String(error)));
  } finally {
    if (!ended) {
      await endIteration(events, options.requestId);
    }
  }
}

/** Whether `stream` drained, closed, or did neither within `timeoutMs`. */
function drainOf(stream: Writable, timeoutMs: number): Promise<'drained' | 'closed' | 'stalled'> {
  return new Promise((resolve) => {
    if (stream.destroyed) {
      resolve('closed');
      return;
    }
    const settle = (outcome: 'drained' | 'closed' | 'stalled'): void => {
      clearTimeout(timer);
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      resolve(outcome);
    };
    const onDrain = (): void => settle('drained');
    const onClose = (): void => settle('closed');
    const timer = setTimeout(() => settle('stalled'), timeoutMs);
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}

async function endIteration<T>(events: AsyncIterator<T>, requestId: string): Promise<void> {
  try {
    await events.return?.();
  } catch (error) {
    // Nobody is left to tell; the model call has ended either way.
    logger.warn({ err: error, reqId: requestId }, 'ending an abandoned event stream failed');
  }
}

import { Readable } from 'node:stream';

/** One Server-Sent Event: `event` is omitted for the default ("message") type. */
export interface ServerSentEvent {
  event?: string;
  data: unknown;
}

/**
 * Headers of an event stream. `X-Accel-Buffering: no` stops nginx from buffering the stream, which
 * would hold every delta back until the end.
 */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  // no-store: nothing between us and the client keeps a copy of an answer.
  'cache-control': 'no-cache, no-store',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** `event:` line (when named) and one `data:` line; JSON never contains a raw line break. */
export function formatServerSentEvent({ event, data }: ServerSentEvent): string {
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/**
 * The wire form of an event stream, for a handler to return: Fastify writes it chunk by chunk and,
 * when the client goes away, destroys it, which ends the iteration of `events` (`return()`) and so the
 * model call. `events` must not throw; a failure should already be its last event. `format` frames one
 * event (the default writes `event:`/`data:` lines; OpenAI's stream has its own framing).
 */
export function toEventStream<T = ServerSentEvent>(
  events: AsyncIterable<T>,
  format: (event: T) => string = formatServerSentEvent as (event: T) => string,
): Readable {
  async function* frames(): AsyncGenerator<string> {
    for await (const event of events) {
      yield format(event);
    }
  }
  return Readable.from(frames(), { objectMode: false });
}

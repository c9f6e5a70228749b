import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import type { ChatCompletionStreamEvent } from './openai.types';

/**
 * Headers of a streamed completion. `X-Accel-Buffering: no` stops nginx from buffering the stream,
 * which would hold every chunk back until the end.
 */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** OpenAI's framing: one unnamed event per object, and the bare `[DONE]` sentinel at the end. */
export function formatEvent(event: ChatCompletionStreamEvent): string {
  return `data: ${typeof event === 'string' ? event : JSON.stringify(event)}\n\n`;
}

/**
 * The wire form of a streamed completion, for a handler to return: Fastify writes it chunk by chunk
 * and, when the client goes away, destroys it, which ends the iteration of `events` (`return()`) and so
 * the model call. `events` must not throw; a failure should already be its last event.
 */
export function toEventStream(events: AsyncIterable<ChatCompletionStreamEvent>): Readable {
  async function* frames(): AsyncGenerator<string> {
    for await (const event of events) {
      yield formatEvent(event);
    }
  }
  return Readable.from(frames(), { objectMode: false });
}

/**
 * An `AbortSignal` that fires when the client closes the connection before the whole response was
 * written, so the model stops generating for nobody.
 */
export function abortOnClientDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  const onClose = (): void => {
    if (!response.writableFinished) {
      controller.abort(new Error('the client closed the connection before the response was complete'));
    }
  };
  if (response.destroyed || response.socket?.destroyed === true) {
    onClose();
  } else {
    response.once('close', onClose);
  }
  return controller.signal;
}

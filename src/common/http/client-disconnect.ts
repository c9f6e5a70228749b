import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';

/** The reason of the signal below, so logs can tell a departed client from a failure. */
export class ClientDisconnectedError extends Error {
  constructor() {
    super('the client closed the connection before the response was complete');
    this.name = 'ClientDisconnectedError';
  }
}

/** The reason of the signal below when the client is still connected but accepts nothing more. */
export class ClientStalledError extends Error {
  constructor(readonly stalledMs: number) {
    super(`the client accepted no data for ${stalledMs / 1000} s (OLLAMA_TIMEOUT); the response was given up`);
    this.name = 'ClientStalledError';
  }
}

/*
 * One controller per response, so that whoever gives up on a client (the event-stream writer) aborts
 * the very signal the handler passed to the model call. Weak: it goes with the response.
 */
const controllers = new WeakMap<ServerResponse, AbortController>();

/**
 * An `AbortSignal` that fires when the client closes the connection before the whole response was
 * written, or when the response is given up with {@link dropClient}. Passed to the `Llm` port, it stops
 * Ollama generating for nobody and gives the call's slot back. Asking twice for the same reply gives
 * the same signal.
 */
export function abortOnClientDisconnect(reply: FastifyReply): AbortSignal {
  const response = reply.raw;
  const existing = controllers.get(response);
  if (existing !== undefined) {
    return existing.signal;
  }
  const controller = new AbortController();
  controllers.set(response, controller);
  const onClose = (): void => {
    if (!response.writableFinished) {
      controller.abort(new ClientDisconnectedError());
    }
  };
  if (response.destroyed || response.socket?.destroyed === true) {
    onClose();
  } else {
    response.once('close', onClose);
  }
  return controller.signal;
}

/**
 * Gives up on a client that is still connected but no longer accepts data: the signal of
 * {@link abortOnClientDisconnect} for this reply fires with `reason`, then the connection is closed.
 * Safe to call more than once.
 */
export function dropClient(reply: FastifyReply, reason: Error): void {
  const controller = controllers.get(reply.raw);
  if (controller !== undefined && !controller.signal.aborted) {
    controller.abort(reason);
  }
  reply.raw.destroy();
}

import type { FastifyReply } from 'fastify';

/** The reason of the signal below, so logs can tell a departed client from a failure. */
export class ClientDisconnectedError extends Error {
  constructor() {
    super('the client closed the connection before the response was complete');
    this.name = 'ClientDisconnectedError';
  }
}

/**
 * An `AbortSignal` that fires when the client closes the connection before the whole response was
 * written. Passed to `LlmService`, it stops Ollama generating for nobody.
 */
export function abortOnClientDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
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

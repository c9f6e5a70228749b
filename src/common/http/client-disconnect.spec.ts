import type { FastifyReply } from 'fastify';
import { EventEmitter } from 'node:events';
import { abortOnClientDisconnect, ClientDisconnectedError } from './client-disconnect';

/** The parts of Node's `ServerResponse` the signal looks at. */
class FakeResponse extends EventEmitter {
  writableFinished = false;
  destroyed = false;
  socket: { destroyed: boolean } | null = { destroyed: false };
}

function replyWith(response: FakeResponse): FastifyReply {
  return { raw: response } as unknown as FastifyReply;
}

describe(abortOnClientDisconnect.name, () => {
  it('aborts when the connection closes before the response was written', () => {
    const response = new FakeResponse();
    const signal = abortOnClientDisconnect(replyWith(response));
    expect(signal.aborted).toBe(false);
    response.emit('close');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ClientDisconnectedError);
  });

  it('does not abort when the connection closes after the whole response was written', () => {
    const response = new FakeResponse();
    const signal = abortOnClientDisconnect(replyWith(response));
    response.writableFinished = true;
    response.emit('close');
    expect(signal.aborted).toBe(false);
  });

  it('is aborted at once when the client left before the handler ran', () => {
    const response = new FakeResponse();
    response.socket = { destroyed: true };
    expect(abortOnClientDisconnect(replyWith(response)).aborted).toBe(true);
  });
});

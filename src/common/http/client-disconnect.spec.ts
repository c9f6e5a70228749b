import type { FastifyReply } from 'fastify';
import { EventEmitter } from 'node:events';
import { abortOnClientDisconnect, ClientDisconnectedError, ClientStalledError, dropClient } from './client-disconnect';

/** The parts of Node's `ServerResponse` the signal looks at. */
class FakeResponse extends EventEmitter {
  writableFinished = false;
  destroyed = false;
  socket: { destroyed: boolean } | null = { destroyed: false };
  destroyCalls = 0;

  destroy(): void {
    this.destroyCalls++;
    this.destroyed = true;
    this.emit('close');
  }
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

  it('gives the same signal to everyone who asks for the same reply', () => {
    const reply = replyWith(new FakeResponse());
    expect(abortOnClientDisconnect(reply)).toBe(abortOnClientDisconnect(reply));
  });
});

describe(dropClient.name, () => {
  it("fires the reply's signal with the reason given, then closes the connection", () => {
    const response = new FakeResponse();
    const reply = replyWith(response);
    const signal = abortOnClientDisconnect(reply);
    const reason = new ClientStalledError(35_000);

    dropClient(reply, reason);

    expect(signal.reason).toBe(reason);
    expect(reason.message).toBe('the client accepted no data for 35 s (OLLAMA_TIMEOUT); the response was given up');
    expect(response.destroyCalls).toBe(1);
  });

  it('keeps the first reason when the client is dropped twice or has left already', () => {
    const response = new FakeResponse();
    const reply = replyWith(response);
    const signal = abortOnClientDisconnect(reply);
    response.emit('close');

    dropClient(reply, new ClientStalledError(1_000));
    dropClient(reply, new ClientStalledError(1_000));

    expect(signal.reason).toBeInstanceOf(ClientDisconnectedError);
  });

  it('closes the connection of a reply nobody asked a signal for', () => {
    const response = new FakeResponse();
    dropClient(replyWith(response), new ClientStalledError(1_000));
    expect(response.destroyCalls).toBe(1);
  });
});

import { once } from 'node:events';
import { IncomingMessage, request } from 'node:http';
import { connect, Socket } from 'node:net';

/*
 * Requests on connections of their own, for tests of clients that go away or stop reading: `fetch`'s
 * pool may open a spare connection after an abort, which would keep the server from closing and hide
 * what is being tested.
 */

/** A POST on a connection of its own, which the test can cut like a client that goes away. */
export interface DisconnectableRequest {
  /** Settles when the response headers arrive. */
  response: Promise<IncomingMessage>;
  /** Destroys the connection, as a client that closes its tab or times out does. */
  disconnect(): void;
}

/** Sends `body` as JSON without a connection pool; the test decides when the client leaves. */
export function postDisconnectable(url: string, body: unknown): DisconnectableRequest {
  const payload = JSON.stringify(body);
  const outgoing = request(url, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
  });
  // The disconnect itself surfaces as an error on a promise the test may no longer await.
  response.catch(() => undefined);
  outgoing.end(payload);
  return { response, disconnect: () => outgoing.destroy() };
}

/** A client that sent its request and reads nothing of the answer: the connection stays open, unread. */
export interface UnreadRequest {
  socket: Socket;
  /** Starts reading and resolves once the server has closed the connection; the bytes that came. */
  readUntilClosed(): Promise<number>;
}

/**
 * POSTs `body` as JSON on a raw socket that never reads: whatever the server answers stays in the
 * kernel's buffers, so the server's writes fill them and then wait, as with a client that hangs.
 */
export async function postUnread(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<UnreadRequest> {
  const { hostname, port, pathname } = new URL(url);
  const payload = JSON.stringify(body);
  const socket = connect(Number(port), hostname);
  socket.pause();
  await once(socket, 'connect');
  const head = [
    `POST ${pathname} HTTP/1.1`,
    `host: ${hostname}:${port}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(payload)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.write(`${head.join('\r\n')}\r\n\r\n${payload}`);
  return {
    socket,
    readUntilClosed: async () => {
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      // A reset is a close too: the server may drop a connection with unread data on it.
      socket.on('error', () => undefined);
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.resume();
      await closed;
      return bytes;
    },
  };
}

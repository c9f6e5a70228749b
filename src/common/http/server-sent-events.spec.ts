import { Logger } from '@nestjs/common';
import Fastify, { FastifyInstance } from 'fastify';
import { once } from 'node:events';
import { AddressInfo, connect, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { abortOnClientDisconnect, ClientDisconnectedError, ClientStalledError } from './client-disconnect';
import { EVENT_STREAM_HEADERS, formatServerSentEvent, sendEventStream, ServerSentEvent } from './server-sent-events';

describe(formatServerSentEvent.name, () => {
  it('writes an unnamed event as one data line and a blank line', () => {
    expect(formatServerSentEvent({ data: { delta: 'Hi' } })).toBe('data: {"delta":"Hi"}\n\n');
  });

  it('names the event when given', () => {
    expect(formatServerSentEvent({ event: 'done', data: { ok: true } })).toBe('event: done\ndata: {"ok":true}\n\n');
  });

  it('keeps line breaks inside the data escaped, so one event stays one event', () => {
    expect(formatServerSentEvent({ data: { delta: 'a\n\ndata: b' } })).toBe('data: {"delta":"a\\n\\ndata: b"}\n\n');
  });
});

describe('EVENT_STREAM_HEADERS', () => {
  it('asks caches and proxies not to hold the stream back', () => {
    expect(EVENT_STREAM_HEADERS).toEqual({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      'x-accel-buffering': 'no',
    });
  });

  it('leaves Connection to Node, which closes a connection after its last allowed request', () => {
    expect(Object.keys(EVENT_STREAM_HEADERS).map((name) => name.toLowerCase())).not.toContain('connection');
  });
});

/** What the source of a stream saw: how many events were taken from it, and whether it was ended early. */
interface Source {
  events: AsyncIterable<ServerSentEvent>;
  pulled: number;
  returned: boolean;
  completed: boolean;
}

/** `count` events (endless when omitted) of `size` characters each. */
function source(size: number, count = Infinity): Source {
  const state: Source = { events: undefined as never, pulled: 0, returned: false, completed: false };
  const text = 'x'.repeat(size);
  async function* events(): AsyncGenerator<ServerSentEvent> {
    let finished = false;
    try {
      for (let i = 0; i < count; i++) {
        state.pulled++;
        yield { data: { i, text } };
      }
      finished = true;
      state.completed = true;
    } finally {
      state.returned = !finished;
    }
  }
  state.events = events();
  return state;
}

/** A request on a raw socket that reads nothing until the test says so. */
async function openUnread(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.pause();
  socket.write('GET /events HTTP/1.1\r\nhost: localhost\r\n\r\n');
  return socket;
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await delay(10);
  }
}

describe(sendEventStream.name, () => {
  let app: FastifyInstance;
  let port: number;
  let stream: Source;
  let signal: AbortSignal | undefined;
  let format: ((event: ServerSentEvent) => string) | undefined;
  const STALL_MS = 1_000;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  afterAll(() => {
    Logger.overrideLogger(new Logger());
  });

  beforeEach(async () => {
    format = undefined;
    signal = undefined;
    app = Fastify();
    app.get('/events', (_request, reply) => {
      signal = abortOnClientDisconnect(reply);
      return sendEventStream(reply, stream.events, { stallTimeoutMs: STALL_MS, ...(format && { format }) });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await app.close();
  });

  it('writes the events in order, with the event-stream headers, and ends', async () => {
    stream = source(3, 3);
    const response = await fetch(`http://127.0.0.1:${port}/events`);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(await response.text()).toBe(
      'data: {"i":0,"text":"xxx"}\n\ndata: {"i":1,"text":"xxx"}\n\ndata: {"i":2,"text":"xxx"}\n\n',
    );
    expect(stream.completed).toBe(true);
    expect(signal?.aborted).toBe(false);
  });

  it('frames the events with the given format', async () => {
    stream = source(1, 2);
    format = (event) => `data: ${(event.data as { i: number }).i}\n\n`;
    expect(await (await fetch(`http://127.0.0.1:${port}/events`)).text()).toBe('data: 0\n\ndata: 1\n\n');
  });

  it('takes no more events while the client accepts nothing, then drops it: signal aborted, iteration ended', async () => {
    stream = source(64 * 1024);
    const client = await openUnread(port);
    try {
      await until('the client to be dropped', () => stream.returned, STALL_MS * 10);
      expect(signal?.reason).toBeInstanceOf(ClientStalledError);
      // Without backpressure this endless source would be drained thousands of times before the
      // stall timeout; with it, only what the socket buffers and the body's buffer hold was taken.
      expect(stream.pulled * 64 * 1024).toBeLessThan(32 * 1024 * 1024);
      const pulledAtDrop = stream.pulled;
      client.resume();
      await once(client, 'close');
      expect(stream.pulled).toBe(pulledAtDrop);
    } finally {
      client.destroy();
    }
  }, 20_000);

  it('keeps a slow client that keeps reading, however long the whole stream takes', async () => {
    // Several times what the socket buffers hold, so the writer has to wait for room again and again.
    const count = 200;
    stream = source(64 * 1024, count);
    const client = await openUnread(port);
    let received = 0;
    let nextPause = 1024 * 1024;
    client.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= nextPause) {
        // Stops reading now and then, each time for well under the stall timeout.
        nextPause += 1024 * 1024;
        client.pause();
        setTimeout(() => client.resume(), STALL_MS / 8);
      }
    });
    client.resume();
    try {
      await until('the whole stream', () => stream.completed, 30_000);
      await until('every byte', () => received > count * 64 * 1024);
      expect(signal?.aborted).toBe(false);
    } finally {
      client.destroy();
    }
  }, 40_000);

  it('ends the iteration when the client goes away mid-stream', async () => {
    stream = source(64 * 1024);
    const client = await openUnread(port);
    await until('the stream to start', () => stream.pulled > 0);
    client.destroy();
    await until('the iteration to end', () => stream.returned);
    expect(signal?.reason).toBeInstanceOf(ClientDisconnectedError);
  });
});

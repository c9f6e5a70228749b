import type { FastifyReply } from 'fastify';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { BadGatewayError, UpstreamTimeoutError } from '../common/errors';
import { abortOnClientDisconnect, ClientStalledError } from '../common/http/client-disconnect';
import type { LlmForwardResponse } from '../llm/llm.types';
import { relayAnswer } from './answer-relay';

/** The parts of Fastify's reply the relay uses, over a real Node response. */
class Reply {
  hijacked = false;
  readonly request = { id: 'relay-test' };
  constructor(readonly raw: ServerResponse) {}
  hijack(): this {
    this.hijacked = true;
    return this;
  }
}

interface Relayed {
  reply: Reply;
  signal: AbortSignal;
  /** How `relayAnswer` settled. */
  outcome: Promise<unknown>;
}

/** A real HTTP server whose every request is answered by `relayAnswer` with the next of `answers`. */
class RelayServer {
  readonly relayed: Relayed[] = [];
  private readonly server: Server;

  constructor(
    private readonly answer: () => LlmForwardResponse,
    /** How long a client may accept nothing before it is dropped (OLLAMA_TIMEOUT). */
    stallTimeoutMs = 60_000,
  ) {
    this.server = createServer((_request, response) => {
      const reply = new Reply(response);
      const signal = abortOnClientDisconnect(reply as unknown as FastifyReply);
      const outcome = relayAnswer(reply as unknown as FastifyReply, this.answer(), signal, stallTimeoutMs).then(
        () => 'resolved',
        (error: unknown) => {
          if (!response.headersSent) {
            response.writeHead(599).end('refused before the first byte');
          }
          return error;
        },
      );
      this.relayed.push({ reply, signal, outcome });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function answerOf(chunks: AsyncGenerator<Buffer>, contentType?: string, status = 200): LlmForwardResponse {
  return { status, ...(contentType !== undefined && { contentType }), body: chunks };
}

async function* buffers(...parts: Array<Buffer | Error>): AsyncGenerator<Buffer> {
  for (const part of parts) {
    await delay(1);
    if (part instanceof Error) {
      throw part;
    }
    yield part;
  }
}

describe(relayAnswer.name, () => {
  let server: RelayServer;
  let url: string;
  let next: () => LlmForwardResponse;

  beforeEach(async () => {
    server = new RelayServer(() => next());
    url = await server.start();
  });

  afterEach(async () => {
    await server.stop();
  });

  it('writes Ollama’s status, content type and bytes exactly as they came, split characters included', async () => {
    const text = Buffer.from('{"message":{"content":"été"}}\n{"done":true}\n');
    const cut = text.indexOf(0xa9); // inside the two bytes of the first "é"
    next = () => answerOf(buffers(text.subarray(0, cut), text.subarray(cut)), 'application/x-ndjson');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(Buffer.from(await response.arrayBuffer()).equals(text)).toBe(true);
    await expect(server.relayed[0].outcome).resolves.toBe('resolved');
    expect(server.relayed[0].reply.hijacked).toBe(true);
  });

  it('relays Ollama’s own refusals with their status, and JSON without a content type as JSON', async () => {
    next = () => answerOf(buffers(Buffer.from('{"error":"\\"bert\\" does not support chat"}')), undefined, 400);
    const response = await fetch(url);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({ error: '"bert" does not support chat' });
  });

  it('leaves the answer to the exception filter when the call fails before its first byte', async () => {
    next = () => answerOf(buffers(new UpstreamTimeoutError('the model did not answer within 35 s')));
    const response = await fetch(url);
    expect(response.status).toBe(599);
    expect(await response.text()).toBe('refused before the first byte');
    await expect(server.relayed[0].outcome).resolves.toBeInstanceOf(UpstreamTimeoutError);
    expect(server.relayed[0].reply.hijacked).toBe(false);
  });

  it('ends a failed stream with Ollama’s {"error"} line', async () => {
    next = () =>
      answerOf(
        buffers(Buffer.from('{"done":false}\n'), new BadGatewayError('the model server failed in the middle')),
        'application/x-ndjson',
      );
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"done":false}\n{"error":"the model server failed in the middle"}\n');
  });

  it('cuts off a failed answer that is not a stream, so that it cannot pass for a whole one', async () => {
    next = () => answerOf(buffers(Buffer.from('{"embeddings":[[0.1,'), new BadGatewayError('cut')), 'application/json');
    const response = await fetch(url);
    await expect(response.text()).rejects.toThrow();
  });

  it('stops reading while the client does not read, and relays everything once it does', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const total = 1024; // 64 MiB: far more than the socket buffers hold
    let produced = 0;
    let finished = false;
    next = () =>
      answerOf(
        (async function* () {
          for (; produced < total; produced += 1) {
            yield chunk;
          }
          finished = true;
        })(),
        'application/x-ndjson',
      );
    const response = await new Promise<IncomingMessage>((resolve) => get(url, resolve));
    response.pause();
    // Wait until the relay stops asking for more: the count stays the same for a while.
    let seen = -1;
    while (seen !== produced) {
      seen = produced;
      await delay(200);
    }
    expect(produced).toBeLessThan(total / 2);
    let received = 0;
    response.on('data', (data: Buffer) => (received += data.length));
    const ended = new Promise((resolve) => response.on('end', resolve));
    response.resume();
    await ended;
    expect(received).toBe(total * chunk.length);
    expect(finished).toBe(true);
  });

  it('stops reading and ends the call when the client leaves in the middle', async () => {
    let returned = false;
    next = () =>
      answerOf(
        (async function* () {
          try {
            for (;;) {
              yield Buffer.from('{"done":false}\n');
              await delay(5);
            }
          } finally {
            returned = true;
          }
        })(),
        'application/x-ndjson',
      );
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect(server.relayed[0].outcome).resolves.toBe('resolved');
    expect(server.relayed[0].signal.aborted).toBe(true);
    expect(returned).toBe(true);
  });

  it('drops a client that accepts nothing for OLLAMA_TIMEOUT, ending the call and freeing its slot', async () => {
    const stalling = new RelayServer(() => next(), 300);
    const stallingUrl = await stalling.start();
    let returned = false;
    next = () =>
      answerOf(
        (async function* () {
          try {
            for (;;) {
              yield Buffer.alloc(64 * 1024, 'x');
            }
          } finally {
            returned = true;
          }
        })(),
        'application/x-ndjson',
      );
    try {
      const response = await new Promise<IncomingMessage>((resolve) => get(stallingUrl, resolve));
      response.on('error', () => undefined);
      response.pause();
      await expect(stalling.relayed[0].outcome).resolves.toBe('resolved');
      expect(stalling.relayed[0].signal.reason).toBeInstanceOf(ClientStalledError);
      expect(returned).toBe(true);
    } finally {
      await stalling.stop();
    }
  });
});

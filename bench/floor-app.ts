/**
 * The cheapest possible service on the same stack: Nest 11 on Fastify with one POST route that echoes
 * its JSON body, nothing else (no validation, guards, logging, metrics or upstream call). `bench/floor.ts`
 * runs it to measure what the framework alone costs per request on this machine. Prints `ready` once it
 * listens on 127.0.0.1:$PORT.
 *
 * With `UPSTREAM` (an Ollama base URL) it is also the cheapest possible gateway: `POST /relay` sends the
 * message to `UPSTREAM/api/chat` through an undici pool and answers the reply, `POST /relay-stream`
 * relays the streamed answer's bytes as they come. `FLOOR_SERVER=plain` serves the same routes from
 * `node:http` alone, without Nest or Fastify.
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Pool } from 'undici';

const upstream = process.env.UPSTREAM === undefined ? undefined : new Pool(process.env.UPSTREAM, { connections: 64 });

function chatBody(message: unknown, stream: boolean): string {
  const content = typeof message === 'string' ? message : '';
  return JSON.stringify({ model: 'llama3.1:latest', messages: [{ role: 'user', content }], stream });
}

async function relay(message: unknown): Promise<{ reply: unknown }> {
  if (upstream === undefined) {
    throw new Error('no UPSTREAM');
  }
  const answer = await upstream.request({
    method: 'POST',
    path: '/api/chat',
    body: chatBody(message, false),
    headers: { 'content-type': 'application/json' },
  });
  const reply = (await answer.body.json()) as { message?: { content?: unknown } };
  return { reply: reply.message?.content };
}

async function relayStream(message: unknown): Promise<Readable> {
  if (upstream === undefined) {
    throw new Error('no UPSTREAM');
  }
  const answer = await upstream.request({
    method: 'POST',
    path: '/api/chat',
    body: chatBody(message, true),
    headers: { 'content-type': 'application/json' },
  });
  return answer.body;
}

@Controller()
class EchoController {
  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: unknown): { reply: unknown } {
    return { reply: body };
  }

  @Post('relay')
  @HttpCode(200)
  relay(@Body() body: { message?: unknown }): Promise<{ reply: unknown }> {
    return relay(body.message);
  }

  @Post('relay-stream')
  @HttpCode(200)
  relayStream(@Body() body: { message?: unknown }): Promise<Readable> {
    return relayStream(body.message);
  }
}

@Module({ controllers: [EchoController] })
class FloorModule {}

async function handlePlain(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: unknown };
  if (req.url === '/relay-stream') {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    (await relayStream(body.message)).pipe(res);
    return;
  }
  const answer = JSON.stringify(req.url === '/relay' ? await relay(body.message) : { reply: body });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
  res.end(answer);
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT);
  if (process.env.FLOOR_SERVER === 'plain') {
    const server = createServer((req, res) => {
      handlePlain(req, res).catch(() => res.destroy());
    });
    server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
    process.once('SIGTERM', () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
    return;
  }
  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), { logger: false });
  app.enableShutdownHooks(['SIGTERM'], { useProcessExit: true });
  await app.listen(port, '127.0.0.1');
  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`floor app failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

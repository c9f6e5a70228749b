/**
 * The cheapest possible service on the same stack: Nest 11 on Fastify with one POST route that echoes
 * its JSON body, nothing else (no validation, guards, logging, metrics or upstream call). `bench/floor.ts`
 * runs it to measure what the framework alone costs per request on this machine. Prints `ready` once it
 * listens on 127.0.0.1:$PORT.
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

@Controller()
class EchoController {
  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: unknown): { reply: unknown } {
    return { reply: body };
  }
}

@Module({ controllers: [EchoController] })
class FloorModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), { logger: false });
  app.enableShutdownHooks(['SIGTERM'], { useProcessExit: true });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`floor app failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

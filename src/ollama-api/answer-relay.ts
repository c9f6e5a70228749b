import { Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import { DomainError } from '../common/errors';
import { ClientStalledError, dropClient } from '../common/http/client-disconnect';
import { JSON_CONTENT_TYPE } from '../common/http/content-types';
import { LlmCallAbortedError } from '../llm/llm.errors';
import type { LlmForwardResponse } from '../llm/llm.types';

const logger = new Logger('OllamaApi');

/** What Ollama's streams are; answers without a content type are its JSON. */
const NDJSON = /^application\/x-ndjson\b/i;

/**
 * Resolves `true` when the response can take more or has closed (the client left: nothing to wait
 * for), `false` when the client accepted nothing for `stallTimeoutMs`.
 */
function writable(response: ServerResponse, stallTimeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      response.off('drain', onReady);
      response.off('close', onReady);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), stallTimeoutMs);
    response.on('drain', onReady);
    response.on('close', onReady);
  });
}

/**
 * Ends an answer whose status is already on the wire. An NDJSON stream ends as Ollama ends a failed
 * one, with a last `{"error": "…"}` line, which Ollama's clients raise as an error; any other answer
 * is cut off, so that it cannot pass for a whole one.
 */
function endBroken(response: ServerResponse, error: unknown, ndjson: boolean, requestId: string): void {
  if (!(error instanceof DomainError)) {
    logger.error({ err: error, reqId: requestId }, 'relaying an answer of Ollama failed');
  }
  if (response.destroyed || error instanceof LlmCallAbortedError) {
    response.destroy();
    return;
  }
  if (!ndjson) {
    response.destroy();
    return;
  }
  const message = error instanceof DomainError ? error.message : 'the answer was cut off';
  response.end(`${JSON.stringify({ error: message })}\n`);
}

/**
 * Writes an answer of Ollama's to the client byte for byte, as it arrives: its status and content type,
 * then each chunk, waiting for the socket to drain whenever it is full, so a slow reader slows the
 * relay instead of filling memory. When `signal` aborts (the client left) it stops reading, which ends
 * the model call and aborts Ollama's generation. A client that accepts nothing for `stallTimeoutMs`
 * (OLLAMA_TIMEOUT) is dropped the same way, so it cannot hold a model slot.
 *
 * Nothing is written before the first chunk arrived: a failure before it rejects the returned promise,
 * so the exception filter still answers with a proper status. From the first chunk on, the reply is
 * taken over from Fastify and a failure ends the answer (`endBroken`).
 */
export async function relayAnswer(
  reply: FastifyReply,
  answer: LlmForwardResponse,
  signal: AbortSignal,
  stallTimeoutMs: number,
): Promise<void> {
  const chunks = answer.body[Symbol.asyncIterator]();
  let next = await chunks.next();
  const response = reply.raw;
  const contentType = answer.contentType ?? JSON_CONTENT_TYPE;
  const ndjson = NDJSON.test(contentType);
  void reply.hijack();
  response.writeHead(answer.status, {
    'content-type': contentType,
    // A proxy that buffers would hold every line of the stream back until the end.
    ...(ndjson && { 'x-accel-buffering': 'no' }),
  });
  try {
    while (next.done !== true && !signal.aborted) {
      if (!response.write(next.value)) {
        if (!(await writable(response, stallTimeoutMs))) {
          const reason = new ClientStalledError(stallTimeoutMs);
          logger.warn({ reqId: String(reply.request.id) }, reason.message);
          dropClient(reply, reason);
          break;
        }
        if (signal.aborted || response.destroyed) {
          break;
        }
      }
      next = await chunks.next();
    }
    if (!signal.aborted && !response.destroyed) {
      response.end();
    }
  } catch (error) {
    endBroken(response, error, ndjson, String(reply.request.id));
  } finally {
    // Leaving before the end ends the call, which closes Ollama's connection and so its generation.
    await chunks.return?.(undefined);
  }
}

import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';

/** Ollama's API, whose server reads every body as JSON whatever its `Content-Type`. */
const OLLAMA_API_PATH = /^\/api\//;
const NOT_JSON = 'the body is not valid JSON; send one JSON object';

/** The 415 message for a body that is not sent as JSON where the service only reads JSON. */
export function notJsonMessage(contentType: string | undefined): string {
  const type = contentType?.split(';', 1)[0].trim().toLowerCase() || 'none';
  return `unsupported Content-Type '${type}'; send the body as application/json`;
}

/**
 * The service's body parsers, in place of Nest's (create the application with `bodyParser: false`).
 * `application/json` is read by Fastify's own parser, with the server's body limit and its refusal of
 * `__proto__` and `constructor.prototype` keys. Any other `Content-Type`, or none, is read as JSON on
 * Ollama's API (`/api/...`), as Ollama reads it: the `curl -d '{...}'` of Ollama's documentation sends
 * a form. Everywhere else it is refused with 415 before anything reads it as a form or as text.
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  const json = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (OLLAMA_API_PATH.test(request.url)) {
      // Fastify's own messages would say the Content-Type was application/json.
      void json(request, body as string, (error, value) => {
        if (error === null) {
          done(null, value);
        } else {
          done(new BadRequestException(body === '' ? 'missing request body' : NOT_JSON), undefined);
        }
      });
      return;
    }
    done(new UnsupportedMediaTypeException(notJsonMessage(request.headers['content-type'])), undefined);
  });
}
